#!/usr/bin/env python3
"""Deterministic generator for the cvguard authored seed corpus.

Every sentence frame below was written by the project. A *theme* is one
authored frame (sometimes two paraphrases of it) with a fixed label set;
the generator fills its slots (invented names, masked fake numbers, cities,
emoji, register wrappers) to produce a handful of variants. All variants of
a theme carry the same `theme` id and always land in the same split, so
paraphrases never straddle train/test.

Usage:
    python3 data/seed/build_seed.py          # (re)write train.jsonl, test.jsonl, README counts
    python3 data/seed/build_seed.py --check  # exit 1 if the committed files differ

Nothing here is real personal data: names are invented, and every phone,
ID, QQ, WeChat and licence-plate string is masked with asterisks.
"""
from __future__ import annotations

import json
import random
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
CATEGORIES = ["insult", "defamation", "hate_incitement", "threat", "privacy", "mockery", "discrimination"]
LABEL_KEYS = ["violent"] + CATEGORIES
VARIANTS = 6           # rows per theme unless a theme says otherwise
TEST_EVERY = 4         # every 4th theme of a stratum goes to test (~25 %)
MAX_LEN = 150          # register wrappers are dropped if they would push a row past this

# --------------------------------------------------------------------------
# Slot pools. Values may themselves contain slots (filled in a second pass).
# Callables draw a fresh masked fake value.
# --------------------------------------------------------------------------


def _phone(r: random.Random) -> str:
    return f"1{r.choice('3578')}{r.randint(0, 9)}****{r.randint(0, 9999):04d}"


def _idno(r: random.Random) -> str:
    return f"{r.choice(['4101', '3301', '5101', '4301', '3201', '4201'])}**********{r.randint(0, 9999):04d}"


def _plate(r: random.Random) -> str:
    return f"{r.choice('豫浙川湘苏鄂陕皖')}{r.choice('ABCD')}·{r.randint(1, 9)}**{r.randint(0, 9)}{r.choice('QXKMT')}"


def _qq(r: random.Random) -> str:
    return f"{r.randint(10, 99)}****{r.randint(100, 999)}"


def _wx(r: random.Random) -> str:
    return f"{r.choice(['xiaoyu', 'momo', 'lucky', 'sunny', 'abc'])}****{r.randint(10, 99)}"


POOLS: dict[str, list | object] = {
    "name": ["刘思雨", "王浩然", "陈佳怡", "赵子轩", "孙雅琪", "周俊杰", "吴梦洁", "郑凯文", "黄欣然",
             "林晓峰", "何静怡", "杨一帆", "高雨萱", "罗志强", "谢婉婷", "梁晓东", "韩冬梅", "曹建平"],
    "fname": ["陈佳怡", "孙雅琪", "吴梦洁", "黄欣然", "何静怡", "高雨萱", "谢婉婷", "韩冬梅", "刘思雨"],
    "mname": ["王浩然", "赵子轩", "周俊杰", "郑凯文", "林晓峰", "罗志强", "梁晓东", "曹建平"],
    "kidname": ["王子涵", "李欣怡", "张一诺", "陈浩宇", "刘梓萱", "周沐阳", "杨可馨"],
    "surname": list("张王李刘陈杨赵黄周吴"),
    "nick": ["橘子汽水", "momo不吃香菜", "小鹿今天也很乖", "阿杰在路上", "用户7391xxxx", "爱吃火锅的猫",
             "沉默的胖虎", "一颗柠檬精", "夜跑的老王", "星星点灯", "蓝莓味的风", "豆豆妈咪",
             "野生程序员", "奶茶续命中", "清风徐来", "今天也要早睡"],
    "nick2": ["吃瓜群众001", "路过的猫", "小太阳", "追风少年", "用户5820xxxx", "不吃辣的川妹子", "深夜食堂", "阿宝"],
    "who": ["楼主", "这博主", "这个up主", "那个女主播", "这位网红", "{name}", "@{nick} ", "评论区那位", "这主播"],
    "kid": ["这个初中生", "那个小学生", "三班那个男生", "那个高一的女生", "这小孩"],
    "old": ["那个大爷", "公交上那老头", "楼下那老太太", "广场舞那个大妈", "隔壁老头"],
    "city": ["郑州", "杭州", "成都", "长沙", "南京", "武汉", "西安", "合肥", "昆明", "济南", "南宁", "沈阳", "南昌"],
    "district": ["城东", "高新", "经开", "新城", "滨江", "城北"],
    "road": ["幸福路", "和平路", "建设路", "光明街", "长青路", "解放路", "文化路"],
    "addr": ["{city}{district}区{road}{n2}号{bld}{room}"],
    "n2": [str(i) for i in (8, 16, 23, 57, 88, 102, 136)],
    "bld": ["3栋", "12栋", "7号楼", "5幢", "18栋"],
    "room": ["502", "1103", "2单元601", "302室", "9楼"],
    "school": ["{city}市第{sn}中学", "{city}某实验中学", "{city}某外国语学校"],
    "sn": [str(i) for i in range(2, 16)],
    "company": ["{city}某科技公司", "某银行{city}分行", "{city}一家物流公司", "某房产中介{city}门店", "{city}某设计院"],
    "shop": ["{road}那家火锅店", "小区门口那家烧烤店", "{city}那家网红奶茶店", "学校门口的小吃店", "{road}那家面馆"],
    "hospital": ["{city}某三甲医院", "{city}某区医院", "{city}某妇幼保健院"],
    "park": ["{city}某公园", "小区旁边的公园", "{road}街心公园"],
    "rp": ["河南人", "东北人", "上海人", "安徽人", "甘肃人", "广西人", "山东人", "江西人", "四川人", "湖北人"],
    "role": ["博主", "主播", "老师", "up主", "店长"],
    "idol": ["哥哥", "姐姐", "正主", "爱豆"],
    "when": ["今天", "昨晚", "上午", "前天", "周末"],
    "fut": ["今天", "今晚", "明天", "周末", "这周五"],
    "rg": ["河南", "东北", "上海", "安徽", "甘肃", "广西", "山东", "江西", "四川", "湖北"],
    "age": [str(i) for i in range(23, 47, 3)],
    "num": [str(i) for i in (317, 582, 1046, 2291, 7730, 9051)],
    "em": ["🤡", "😅", "🤣", "[doge]", "[吃瓜]", "😂", "", "hhh", "🙂", "[微笑]", "😊", "～", "👍"],
    "ea": ["😡", "🤬", "💢", "！！", "", "。"],
    "en": ["", "🙏", "👍", "😊", "～", "", "", "。"],
    "phone": _phone, "idno": _idno, "plate": _plate, "qq": _qq, "wx": _wx,
}

# Register wrappers are label-neutral: platform furniture only.
WRAPPERS = {
    "weibo": [("", ""), ("", ""), ("回复@{nick2}:", ""), ("", " //@{nick2}: 转发微博")],
    "tieba": [("", ""), ("", ""), ("回复 {nick2} :", ""), ("", "\u3000——来自Android客户端")],
    "douyin": [("", ""), ("", ""), ("@{nick2} ", "")],
    "group_chat": [("", ""), ("@{nick2} ", ""), ("", "")],
    "short_reply": [("", "")],
    "long_post": [("", "")],
    "news": [("", "")],
}
SOCIAL = ["weibo", "tieba", "douyin", "group_chat"]

# --------------------------------------------------------------------------
# Theme declarations
# --------------------------------------------------------------------------
THEMES: list[dict] = []


def _add(kind, cats, hn, groups, templates, regs, slots, n):
    THEMES.append(dict(kind=kind, cats=cats, hn=hn, groups=groups, templates=list(templates),
                       regs=regs, slots=slots or {}, n=n))


def pos(cats: str, groups: str, *templates: str, regs=None, slots=None, n=VARIANTS):
    """A positive theme. cats like 'threat+insult'; groups like 'individual,minors'."""
    _add("positive", cats.split("+"), None, [g for g in groups.split(",") if g], templates, regs, slots, n)


def neg(hn: str, groups: str, *templates: str, regs=None, slots=None, n=VARIANTS):
    """A hard negative (all labels 0) designed to be confused with category `hn`."""
    _add("hard_negative", [], hn, [g for g in groups.split(",") if g], templates, regs, slots, n)


NEWS = ["news"]
LONG = ["long_post", "weibo", "tieba"]
SHORT = ["short_reply", "douyin", "weibo", "group_chat"]

# ============================== insult =====================================
pos("insult", "individual", "{who}就是个狗东西{ea}嘴这么臭，吃屎长大的吧", "嘴这么臭，{who}怕不是吃屎长大的，狗东西{ea}")
pos("insult", "individual", "nmsl，{who}这种垃圾也配说话？", "{who} nmsl，滚{ea}", regs=SHORT)
pos("insult", "individual", "{who}脑残吧，建议回炉重造", "这种脑残也配当{role}？{who}赶紧回炉重造吧{ea}")
pos("insult", "individual", "傻X，{who}滚出我的评论区{ea}", "{who}滚出评论区，傻逼", regs=SHORT)
pos("insult", "individual", "@{nick} 你妈没教你说人话？畜生都比你懂事{ea}", "@{nick} 畜生都比你会说话，你妈白生你了")
pos("insult", "individual", "{fname}就是个贱人，又当又立，恶心透了{ea}", "又当又立的贱人说的就是{fname}，看一眼都嫌脏")
pos("insult", "individual", "一看头像就知道{who}是个low逼{ea}", "{who}这种low逼也好意思出来带节奏")
pos("insult", "individual", "废物东西，{who}活着就是浪费空气", "{who}这种废物，浪费粮食浪费空气{ea}")
pos("insult", "individual", "{who}就是个sb，天天带节奏，脑子被驴踢了吧", "{who}脑子被驴踢了？天天在这带节奏，sb{ea}")
pos("insult", "individual", "{who}算个什么东西？癞蛤蟆一只，也配跟我说话{ea}")
pos("insult", "individual", "{who}就是个人渣，一家子没一个好东西{ea}", "{who}一家子人渣，没一个好东西")
pos("insult", "individual", "@{nick} tmd又是你这个杠精，cnm{ea}", "又是这个杠精{nick}，cnm，哪都有你")
pos("insult", "individual", "{who}就是个巨婴妈宝男，恶心{ea}", "妈宝男+巨婴，{who}谁嫁谁倒霉，恶心")
pos("insult", "individual", "@{nick} 你是猪吗？这点事都办不好，废物一个", "@{nick} 猪都比你能干，说了三遍还搞错，废物",
    regs=["group_chat"])
pos("insult", "individual", "{who}你个瘪三，少在这儿逼逼赖赖{ea}", "{who}一个瘪三也配在这逼逼赖赖")
pos("insult", "individual", "丑八怪滚出直播间，说的就是{who}{ea}", "{who}丑八怪一个，别出来吓人{ea}")
pos("insult", "individual", "{who}这种白眼狼，爹妈白养你了{ea}")
pos("insult", "individual", "{who}就是个舔狗，给资本家跪舔的狗腿子{ea}", "{who}就是条舔狗，资本家的狗腿子")
pos("insult", "individual", "脑残粉都滚，你家{idol}就是个垃圾{ea}", "你家{idol}垃圾，粉丝更垃圾，一群脑残")
pos("insult", "individual", "{who}满嘴喷粪，刚吃完翔吧{ea}")
pos("insult", "individual",
    "说真的我忍你很久了。{name}你就是一个自私自利、没脸没皮的小人，{company}里谁不知道你是什么货色？当面一套背后一套，恶心。",
    regs=LONG)
pos("insult", "individual", "🐶东西🐷脑子，{who}还好意思出来说话？", "{who}🐷脑子，🐶东西一个{ea}")
pos("insult", "individual", "{who}就是个绿茶婊，到处勾搭男人，呸{ea}")
pos("insult", "individual", "垃圾老师{name}，误人子弟的东西{ea}", "{name}这种垃圾也配当老师？误人子弟的玩意儿")
pos("insult", "individual,minors", "{kid}，你个小畜生，没人教的玩意儿{ea}", "{kid}就是个小畜生，爹妈没教好的东西")
pos("insult", "individual,elderly", "{old}就是个老东西，倚老卖老，不要脸{ea}", "{old}真是个老不死的，占着座位还骂人，不要脸")

# ---- insult hard negatives
neg("insult", "", "@{nick} 你个狗东西又偷吃我零食😂 {fut}请我喝奶茶就原谅你", regs=["group_chat"])
neg("insult", "", "哈哈哈@{nick} 你是猪吧又睡过头，我们都到{road}了，快来", regs=["group_chat"])
neg("insult", "", "我真是个废物，{when}又把报告写错了{en}", "{when}又把报告搞砸了，感觉自己就是个废物，明天加油吧")
neg("insult", "", "别骂人了好吗，有事说事，张口就“nmsl”只会让人觉得你没理{en}", "吵架归吵架，别上升到家人，“nmsl”这种话太过了",
    "看到评论区有人刷“nmsl”，真的没必要，不同意可以讲道理")
neg("insult", "individual", "{when}直播间有人骂主播“狗东西”，已经举报了，大家理性发言{en}")
neg("insult", "", "{city}一男子在网上辱骂他人被行政拘留5日。警方提示：网络不是法外之地。",
    "{city}警方通报：一网民在短视频评论区辱骂他人，被依法行政拘留。", regs=NEWS)
neg("insult", "", "这破手机垃圾死了，{when}又卡死三次，再也不买这个牌子了", "什么垃圾耳机，{when}刚买的，戴了一天就断连，申请退货了")
neg("insult", "", "这把我送了，我是真的菜，下把带飞你们{en}", "@{nick} 我太菜了这把，下把我辅助你")
neg("insult", "", "卧槽，这题也太难了吧，tmd 做了一晚上{en}", "卧槽{city}今天也太热了吧，tmd 出门就化了")
neg("insult", "", "“妈宝男”这个词到底什么意思？感觉现在被用得太泛了{en}", "“绿茶”这个词现在是不是被用烂了？动不动就给女生贴标签", "“杠精”是不是被滥用了？有人提出不同意见就被叫杠精")
neg("insult", "individual", "{who}这次的处理方式我不认同，退款拖了半个月，希望给个说法{en}")
neg("insult", "", "我家狗东西{when}又把沙发咬烂了🐶 气死我了", "我家那只狗东西{when}偷吃了半个西瓜，肚子圆滚滚的😂")
neg("insult", "", "“癞蛤蟆想吃天鹅肉”这句俗语最早出自哪里？{en}", "“狗嘴里吐不出象牙”用英文怎么翻译比较地道？", "请问“狗仗人势”和“狐假虎威”意思有什么区别？{en}")
neg("insult", "", "这部剧里的反派太可恶了，演员演得真好，看得我想骂人{en}", "《{city}往事》里那个渣男角色太气人了，演员演技绝了")
neg("insult", "individual", "{when}收到好多私信骂我“贱人”，已经全部截图举报了，谢谢大家支持{en}")
neg("insult", "elderly", "我爸老说自己是“老东西”不中用了，我说哪有，{when}还陪我爬山呢{en}")
neg("insult", "", "这位老师作业布置太多了，孩子每天写到十一点，希望{school}能调整{en}")
neg("insult", "", "垃圾分类搞了这么久，{road}那边还是有人乱扔，物业管管吧{en}")
neg("insult", "", "笨蛋，{when}下雨都不知道带伞，我去{road}接你{en}", regs=["group_chat", "douyin"])
neg("insult", "", "评论区一堆人喊“sb”，我想说：不同意可以讲道理，人身攻击解决不了问题{en}", "满屏的“sb”“脑残”有意思吗？观点不同就讲道理，别搞人身攻击", "骂一句“sb”并不能证明你对，{who}哪里说得不对可以具体指出来")
neg("insult", "", "根据《治安管理处罚法》，公然侮辱他人可处五日以上十日以下拘留。骂人之前想想后果{en}",
    "法律科普：在网上公开骂人也可能构成侮辱，情节严重的还可能追究刑事责任{en}")
neg("insult", "", "我们乐队叫“废物联盟”，{fut}晚上在{city}livehouse演出，欢迎来玩{en}")
neg("insult", "", "这场比赛后卫防守太松了，下半场连丢两个球，教练得调整{en}", "{when}这场打得太臭了，中场完全没有组织，换人也太晚")
neg("insult", "", "楼上邻居每晚十二点还在拖椅子，已经跟物业反映三次了，有没有好办法{en}", "{bld}楼上天天半夜拖椅子，找了物业三次还是这样，大家有类似经历吗", "邻居每晚装修到十一点，{when}又报了一次物业，求支招")
neg("insult", "", "本吧禁止人身攻击，辱骂他人者一律删帖封禁，请各位吧友文明交流{en}", "吧规重申：禁止辱骂、引战、挂人，违者删帖封禁", "{city}吧公告：请文明发言，人身攻击一律封禁三天", regs=["tieba"])
neg("insult", "", "{city}这家店的菜是真难吃，咸得要命，不推荐{en}", "踩雷了，{shop}的东西难吃到怀疑人生，大家别去了")
neg("insult", "", "我们程序员就是一群“码农”，加班到秃头哈哈{en}", "打工人就是牛马，{when}又加班到十点{en}")

# ============================== defamation ==================================
pos("defamation", "individual", "{fname}就是个小三，破坏别人家庭，她那个{company}的人都知道", "{company}的{fname}插足别人婚姻，同事都传遍了")
pos("defamation", "individual", "爆料：{school}的{name}老师收了家长红包才给孩子调座位，实锤了",
    "{school}的{name}老师收红包排座位，好几个家长都知道，实锤")
pos("defamation", "individual", "那个走失孩子的妈妈就是故意的，她早就想把孩子卖了，家里欠了一屁股债", "{city}丢孩子那家，我听说是当妈的自己把孩子送人了，现在装可怜", "那个天天直播寻子的妈妈，其实孩子是她自己弄丢的，就为了博流量",
    "孩子丢了？我看就是当妈的故意的，听说她欠了好多网贷")
pos("defamation", "individual", "{who}的学历是买的，学校根本查无此人，大家别被骗了", "{who}号称名校毕业，其实学历是花钱买的，内部人士说的")
pos("defamation", "individual", "听说{fname}得了艾滋，私生活特别乱，懂的都懂", "{fname}私生活乱得很，身上有病，懂的都懂")
pos("defamation", "individual,occupation", "{city}那个外卖小哥根本不是见义勇为，是他自己推人下水的，摆拍骗流量",
    "什么见义勇为，{city}那个外卖员就是自导自演骗流量")
pos("defamation", "individual", "{fname}的孩子不是她老公的，她老公一直被蒙在鼓里，我亲戚就在她们医院")
pos("defamation", "individual", "{hospital}的{name}医生收红包出了名的，我邻居塞了五千才给排上手术",
    "{hospital}那个{name}医生，不给红包就不给好好做手术，人尽皆知")
pos("defamation", "individual", "实锤！{who}偷税漏税几千万，马上就要被抓了", "{who}逃税被查了，过两天就有通报，等着看吧")
pos("defamation", "individual", "{name}在{company}上班时挪用公款被开除，后来才来我们这儿的，大家小心点")
pos("defamation", "individual,elderly", "那个被撞的老人是碰瓷惯犯，专门讹钱，已经讹了好几家了",
    "{city}那个倒地的老太太就是职业碰瓷的，之前讹过好几个人")
pos("defamation", "individual", "{who}的粉丝都是买的，卖的东西全是三无，吃坏了好几个人", "{who}带货的那款减肥茶有毒，已经吃进医院好几个了")
pos("defamation", "individual,minors", "据知情人透露，{school}的{mname}老师对学生动手动脚，学校压下来了",
    "{school}有个姓{surname}的老师猥亵学生，学校花钱摆平了，家长们都知道")
pos("defamation", "individual", "{who}就是靠陪睡上位的，不然一个新人凭什么拿这个角色")
pos("defamation", "individual", "{name}以前因为偷东西坐过牢，现在装什么好人", "别看{name}现在人模人样，以前蹲过号子，手脚不干净")
pos("defamation", "individual,minors", "那个跳楼的初三女生是被校外的老板包养后甩了才想不开的，根本不是什么校园霸凌", "{school}那个出事的女生是早恋被甩才想不开，跟霸凌没关系", "那个女生是自己精神有问题，家里有遗传病，根本不是被同学欺负")
pos("defamation", "individual", "{fname}的奖学金是她爸找关系拿的，成绩根本不行", "{name}保研是家里花钱运作的，绩点根本不够")
pos("defamation", "individual", "{shop}老板用地沟油，后厨老鼠乱窜，我朋友在里面干过", "{shop}的肉全是过期的，老板心黑，我表哥在那打过工")
pos("defamation", "individual", "那个网红的捐款是假捐，钱转出去又转回来了，懂的都懂", "{who}捐款作秀，钱转一圈又回自己口袋了，懂的都懂")
pos("defamation", "individual", "{mname}和他继女关系不正常，整个小区都传遍了")
pos("defamation", "individual,occupation", "{road}那个送外卖的老{surname}天天偷吃顾客的餐，好多人都被他偷过")
pos("defamation", "individual", "{who}根本没病，所谓抑郁症是装的，就是为了骗打赏", "{who}说自己抑郁是假的，病历都是P的，为了骗钱")
pos("defamation", "individual", "{mname}在外面养了两个女人，他老婆还不知道呢", "{company}的{mname}外面有人，还不止一个")
pos("defamation", "individual", "{who}就是传销头子，骗了好多老人的养老钱", "{who}搞的那个理财就是传销，专门骗老人")
pos("defamation", "individual,gender", "那个女司机是喝了酒才撞人的，交警给她压下来了，因为她爸是局长", "{city}撞人那个女的是酒驾，她家有关系才没被抓", "听说肇事的是个局长千金，喝了酒撞人，视频都被删了")
pos("defamation", "individual", "那个被网暴的女孩其实是自己炒作，骂她的评论都是她自己小号发的",
    "什么被网暴，{who}自己开小号骂自己，卖惨炒作而已")

# ---- defamation hard negatives
neg("defamation", "", "{city}警方通报：网传“某小学老师体罚学生致伤”系谣言，发布者已被依法处理。",
    "{city}网信办辟谣：网传“{city}某医院发生医疗事故”不实，请勿转发。", regs=NEWS)
neg("defamation", "individual", "法院一审判决：原{city}市某局局长{surname}某因受贿罪被判处有期徒刑五年，并处罚金。（来源：裁判文书网）",
    regs=NEWS)
neg("defamation", "", "我在这家店买的羽绒服洗一次就跑绒，联系客服三天没回复，订单截图在这，大家自己判断{en}", "{shop}卖的东西有质量问题，我把聊天记录和检测报告都放出来了，大家自己判断", "{when}买的电热水壶用了一周就漏电，已经向12315投诉，附购买凭证")
neg("defamation", "individual", "辟谣：网传“{name}偷税被抓”是假的，本人已发律师声明，别再传了{en}")
neg("defamation", "individual", "有人说那个外卖员是摆拍，但{city}警方通报说他确实救了人，还是以官方通报为准{en}")
neg("defamation", "", "我个人觉得这部电影拍得一般，节奏太拖了，不过演员还行{en}", "{city}这家网红餐厅我觉得名不副实，个人口味，仅供参考", "说实话这本书我没看下去，可能不是我的菜{en}")
neg("defamation", "", "不信谣不传谣，网上关于{city}地铁事故的“内部消息”都是假的，请以官方发布为准{en}")
neg("defamation", "individual", "据{city}市纪委监委消息，{city}某区住建局副局长{surname}某涉嫌严重违纪违法，目前正接受审查调查。",
    regs=NEWS)
neg("defamation", "", "记者实地探访发现，{city}某小区外墙保温层存在明显空鼓，开发商回应称将尽快整改。", regs=NEWS)
neg("defamation", "", "{hospital}儿科排队三小时，护士态度还行，就是人太多了，建议错峰{en}")
neg("defamation", "individual", "之前我发的关于{fname}的帖子内容不实，在此公开道歉，已删除原帖，对她造成的影响深感抱歉。")
neg("defamation", "", "散布谣言、故意捏造事实诽谤他人，情节严重的可构成诽谤罪，最高可判三年{en}",
    "普法：诽谤罪一般是告诉才处理，但严重危害社会秩序的除外{en}")
neg("defamation", "", "有人说{shop}用的是地沟油，有人知道真假吗？先别乱传，等市场监管局的结果吧{en}")
neg("defamation", "individual", "{who}{when}发声明说因为身体原因暂停直播，祝早日康复{en}")
neg("defamation", "", "小说里男主的白月光其实是卧底，这个反转我真没想到！{en}", "《{city}往事》结局女二居然是幕后黑手，编剧太敢写了")
neg("defamation", "", "我已经把{company}拖欠三个月工资的证据交给劳动监察大队了，有同样情况的可以一起维权{en}")
neg("defamation", "minors", "第三方检测报告显示这款儿童水杯塑化剂超标，品牌方已宣布召回，买过的家长注意{en}", "{city}市场监管局抽检通报：某品牌儿童水杯塑化剂超标，已责令下架", "这款儿童水杯已被官方召回，召回公告链接在这，家里有的赶紧换")
neg("defamation", "", "我前任确实劈腿了，已经分手，不想多说，大家也别去打扰他{en}", "分手原因就是他出轨，我不想点名，只是说说自己的经历", "和前男友分手了，他确实有错，但我不希望任何人去骚扰他")
neg("defamation", "individual", "经{city}某大学学术委员会调查，某教授论文存在数据造假，已撤销其相关项目。（学校官网通报）", regs=NEWS)
neg("defamation", "", "这张“某明星吸毒”的截图是P的，字体都对不上，大家擦亮眼睛{en}", "网传{who}的“聊天记录”是伪造的，时间戳都对不上，别信", "这个“爆料”截图一看就是P的，大家别转了")
neg("defamation", "", "反诈提醒：冒充“客服”说要退款的都是诈骗，请勿点击陌生链接{en}", "{city}反诈中心提醒：“刷单返利”都是诈骗，千万别转账{en}")
neg("defamation", "", "{shop}{when}的菜有点咸，上菜也慢，不过价格还算实惠，三星吧{en}")
neg("defamation", "", "{when}在{city}地铁上看到有人晕倒，乘务员很快来了，已经送医，大家不用担心{en}")
neg("defamation", "", "为什么谣言总是跑得比真相快？因为情绪比事实更容易传播{en}", "谣言止于智者，转发前先查一下来源", "看到“内部消息”先别急着转，等等官方说法")
neg("defamation", "individual", "{city}网警：{surname}某在网上编造“学校食堂投毒”谣言，被依法行政拘留。", regs=NEWS)
neg("defamation", "", "听说{fut}{city}要降温，大家记得加衣服{en}", "听说{road}那边新开了一家书店，有人去过吗{en}")
neg("defamation", "individual", "{name}起诉网友诽谤一案{when}宣判，被告被判公开道歉并赔偿精神损失费。", regs=NEWS)

# ============================== hate_incitement =============================
pos("hate_incitement", "individual", "兄弟们冲她评论区！{who}这种人不骂不长记性{ea}", "都去{who}评论区，骂到她长记性为止")
pos("hate_incitement", "individual", "大家一起举报{who}，把号搞没，让她在网上混不下去", "家人们集体举报{who}，不封号不罢休{ea}")
pos("hate_incitement", "individual", "大家以后都别去{shop}，老板得罪了我们群里的人，一起给差评刷下去",
    "{shop}老板惹了我兄弟，大家一人一个差评，刷到他关门")
pos("hate_incitement", "individual", "转发扩散！让{fname}社会性死亡，看她以后还怎么做人{ea}", "扩散！让{fname}社死，全网都认识她")
pos("hate_incitement", "individual", "{who}的直播间兄弟们每天去刷屏，刷到她下播为止")
pos("hate_incitement", "individual,occupation", "这种老师就该被全网追杀，大家去{school}官网留言让他滚蛋",
    "全网追杀这个老师！都去{school}公众号下面留言")
pos("hate_incitement", "individual", "家人们，这个女的就是那件事的当事人，大家去她微博底下问问她有没有良心", "就是{fname}，大家去她抖音底下问问她晚上睡得着吗", "当事人{fname}的微博找到了，大家去“关心”一下她",
    "就是这个女的，大家去她主页好好“问候”一下")
pos("hate_incitement", "individual,minors", "谁认识他同学的？把他干的事发到他们班群里，让他在学校抬不起头",
    "有{school}的吗？把这事发他们年级群，让这小子在学校待不下去")
pos("hate_incitement", "individual", "一起冲！{who}每条视频底下都给我刷屏，让她知道得罪网友什么下场")
pos("hate_incitement", "individual", "建议大家都去{company}官方号下面留言，让他们把{name}开除", "都去给{company}打电话，不开除{name}就一直打")
pos("hate_incitement", "individual", "这种人就不配上网，大家见一次骂一次{ea}", "以后{who}发什么大家就骂什么，别让她好过")
pos("hate_incitement", "individual,minors", "家长们跟孩子说一下，以后都别跟三班那个{kidname}玩，让他一个人待着",
    "大家都别理{kidname}，全班孤立他，看他还敢不敢告状", regs=["group_chat"])
pos("hate_incitement", "individual", "所有人去给{shop}打一星，直到关门为止{ea}")
pos("hate_incitement", "individual,elderly", "认准这张脸，{city}的朋友们以后见到这老太太就当面骂回去")
pos("hate_incitement", "individual", "大家把这个帖子顶上去，让{name}的老板、同事、家人都看到", "顶上去！让{mname}单位的人都看看他是什么人",
    regs=["tieba", "weibo"])
pos("hate_incitement", "individual", "评论区的别光看着，去他主页一条条骂，骂到他删号{ea}", "@{nick} 别光点赞，去他主页挨条骂，骂到他删号", "光围观有什么用，大家去{who}主页一条条骂")
pos("hate_incitement", "individual", "这种人就应该被网暴，网暴死活该{ea}", "{who}这种就该全网暴她，别手软")
pos("hate_incitement", "individual", "大家私信轰炸他，一人一条，让他手机响一晚上", "组队私信轰炸{who}，谁发得多谁是好样的")
pos("hate_incitement", "individual,minors",
    "我忍不了了，{kidname}欺负我妹妹这么久，学校不管。请大家帮忙扩散，去{school}官方账号下面刷，直到学校开除她为止！",
    regs=LONG)
pos("hate_incitement", "individual", "给{mname}打电话的时候记得多打几个，让他知道大家有多愤怒")

# ---- hate_incitement hard negatives
neg("hate_incitement", "", "大家理性讨论，不要去当事人主页骚扰，等调查结果{en}", "别去冲当事人评论区了，等{city}警方通报吧")
neg("hate_incitement", "", "抵制这款产品是因为质检不合格，不是针对谁，官方通报在这里{en}", "这批奶粉被通报不合格，建议大家不要买，通报原文在这", "{city}市场监管局通报{shop}卫生不合格，我是不会再去了")
neg("hate_incitement", "minors", "请大家帮忙转发寻人：{city}一名7岁男孩{when}在{park}走失，穿红色外套，有线索请联系110")
neg("hate_incitement", "", "请大家帮忙扩散，我们小区流浪猫需要领养，有意者私信{en}", "帮忙转发！{city}有只金毛走丢了，项圈是蓝色的")
neg("hate_incitement", "individual", "一起去给{idol}的新歌打榜！冲冲冲🔥", "姐妹们{fut}八点准时冲{idol}的超话签到！")
neg("hate_incitement", "", "反对网暴，不要人肉任何人，有问题找警察找法院{en}", "不要开盒、不要人肉，谁都可能成为下一个被网暴的人", "网暴没有赢家，大家收手吧")
neg("hate_incitement", "", "大家踊跃投票，支持我们班的节目！冲呀{en}", "{fut}晚上八点投票截止，大家帮{school}的节目投一票呀", "家人们帮我朋友的作品投个票，谢谢啦", regs=["group_chat"])
neg("hate_incitement", "", "{shop}食品安全问题已被市场监管局立案，大家近期谨慎消费{en}")
neg("hate_incitement", "", "我们向教育局实名反映了学校乱收费的问题，有相同情况的家长可以通过12345热线反映{en}", "{school}乱收资料费的问题已经向教育局反映，家长们可以一起走正规渠道", "被欠薪的工友可以拨打12333，一起依法维权")
neg("hate_incitement", "individual", "请不要再给那个女孩发私信了，她已经很难受了，给她一点空间{en}", "大家别再去{who}私信里问了，让她好好休息吧", "当事人已经说了不想被打扰，请大家尊重她")
neg("hate_incitement", "", "这个号冒充官方诈骗，大家看到请点举报，别被骗{en}", "这个{city}“反诈中心”账号是假冒的，别加它微信，已举报", "提醒：有人冒充{company}客服骗钱，大家看到请举报")
neg("hate_incitement", "race,religion", "这部纪录片讲述了二战时纳粹如何煽动对犹太人的仇恨，值得一看{en}", "历史课讲到卢旺达大屠杀时的电台煽动，太可怕了，仇恨言论的后果就是这样", "推荐一本书，讲种族隔离时期的宣传是怎么煽动仇恨的")
neg("hate_incitement", "", "兄弟们冲啊！推掉对面高地就赢了{en}", "{fut}晚上开黑，兄弟们冲上钻石！", "冲冲冲，这波团战必须打，集合！")
neg("hate_incitement", "", "抵制盗版，支持正版，从我做起{en}", "拒绝盗版电影资源，支持正版从我做起", "抵制假货，买东西认准正规渠道")
neg("hate_incitement", "", "带头冲别人评论区的那些人，你们知道自己在干什么吗？这就是网暴{en}", "那些在评论区带头骂人的，换成你被这样对待试试？", "组织人去冲别人评论区就是网暴，别打着正义的旗号")
neg("hate_incitement", "", "大家{fut}都去{city}图书馆打卡吧，新开的分馆超好看{en}")
neg("hate_incitement", "minors", "呼吁更多人关注留守儿童，一起捐书到乡村小学{en}", "我们社团{fut}去山区小学支教，欢迎大家捐文具", "关注留守儿童心理健康，{city}有公益热线可以求助")
neg("hate_incitement", "", "{city}警方提示：组织、煽动网络暴力将被依法追责，请不要参与“开盒”“挂人”。",
    "{city}警方提醒：转发、评论侮辱他人的内容也可能承担责任，请勿跟风。", regs=NEWS)
neg("hate_incitement", "", "多名网友因在评论区组织围攻他人被平台封号，平台称将持续打击网暴行为。", "某平台{when}公布一批处置网暴账号，其中多个账号因组织围攻他人被封禁。", "{city}网信办约谈多家平台，要求加强对“挂人”“开盒”内容的处置。", regs=NEWS)
neg("hate_incitement", "individual", "大家别骂了，{who}已经道歉了，事情过去就让它过去吧{en}")
neg("hate_incitement", "", "转发提醒：{city}{road}今晚施工封闭，请绕行{en}")
neg("hate_incitement", "", "这款耳机音质一般，我给了三星，大家按需购买{en}", "这款吹风机风力还行，就是噪音大，三星", "{shop}的奶茶太甜了，给个中评，大家看口味选")
neg("hate_incitement", "", "我反对这次推迟开学的决定，建议大家通过正规渠道向教育局提意见{en}", "我不赞成这个停车新规，打算在征求意见期间给{city}交通局写建议", "对这个政策有意见的可以去听证会，理性表达")
neg("hate_incitement", "", "请各位业主{fut}晚七点参加业主大会，集体向物业反映电梯故障问题{en}", regs=["group_chat"])
neg("hate_incitement", "", "有人在群里号召“去她公司闹”，我已经截图报警了，这种行为是违法的{en}", "群里有人喊“一起去他家堵他”，我觉得这是违法的，已经退群了", "有人号召大家去当事人单位闹，这就是违法的网暴，别参与")
neg("hate_incitement", "", "最近小区有冒充推销的，大家不要给陌生人开门，注意安全{en}", "最近{city}有冒充燃气公司上门的，大家看好家里老人", "提醒：有人冒充物业上门收费，{bld}的邻居注意", regs=["group_chat"])
neg("hate_incitement", "", "“人肉搜索”最早是怎么出现的？有没有相关的研究推荐{en}", "“开盒”这个词是怎么来的？有点好奇它的传播过程", "求推荐关于网络暴力的社会学研究")

# ============================== threat ======================================
pos("threat", "individual", "{who}，你给我等着，知道你住哪儿，出门小心点{ea}", "我知道你家在哪，{who}你出门最好小心点")
pos("threat", "individual", "再不删帖，我就把你的聊天记录全发出去，让你身败名裂", "{who}你再不删帖，咱俩的聊天记录我全公开", "不删是吧？聊天记录我全发出去，让你身败名裂{ea}")
pos("threat", "individual", "转我五千，不然你那些照片明天就出现在你们公司群里", "两天内打钱，不然照片发到你{company}的同事群")
pos("threat", "individual", "你再敢说一句试试，弄死你信不信{ea}", "@{nick} 再叫一句试试？弄死你")
pos("threat", "individual,minors", "{kid}，你告诉老师试试？放学别走，看我们怎么收拾你", "敢告诉老师？放学校门口等着，有你好看的")
pos("threat", "individual", "限你三天之内公开道歉，否则我把你家地址挂出来", "{who}，三天不道歉，你家住哪我就发出来")
pos("threat", "individual", "你全家都给我小心点，我有的是办法找到你们{ea}", "{who}你全家最好都小心点，我找得到你们", "叫你家里人出门都注意点，我说到做到")
pos("threat", "individual", "早晚有一天堵到你，打断你的腿{ea}", "{who}别让我在{city}碰到你，见一次打断一次腿")
pos("threat", "individual", "不辞职是吧？那我就天天去你单位闹，看你还干不干得下去", "{who}不主动辞职，我就天天去{company}门口拉横幅", "你不走人，我就去你单位一趟一趟地闹，看谁耗得过谁")
pos("threat", "individual,minors", "敢报警？你孩子在哪个学校上学我可清楚得很", "你儿子在{school}上学是吧，挺好，让他放学路上小心点", "报警有用吗？你闺女每天几点放学我都知道")
pos("threat", "individual", "再让我在直播间看到你，我就去{city}找你，说到做到")
pos("threat", "individual", "删不删？不删我就天天给你打电话，打到你崩溃", "不删帖我就每天给你打一百个电话", "{who}不删视频，我就天天打电话轰炸你，打到你崩溃")
pos("threat", "individual", "{name}你把钱还回来，不然我把你欠钱不还的事发到你老家村群里，让你爸妈抬不起头")
pos("threat", "individual", "你信不信我一把火烧了你家店{ea}", "{shop}的老板你等着，哪天店被砸了别怪我")
pos("threat", "individual", "你要是敢分手，我就把我们的视频发网上", "{name}你敢分手试试，那些照片我可都留着呢", "敢拉黑我？那些视频你不想被你爸妈看到吧")
pos("threat", "individual", "下次再让我看到你在群里说话，见一次打一次{ea}", "@{nick} 再在群里阴阳怪气，线下见一次打一次", regs=["group_chat"])
pos("threat", "individual", "{who}，给你24小时，不道歉就等着被开盒吧", "24小时不删视频，{who}你就等着被开盒")
pos("threat", "individual",
    "我今天把话放这儿：{mname}，你要是不把那条视频删了，我就把你所有黑料都发出来，你老婆你领导一个都跑不了。别怪我没提醒你。",
    regs=LONG)
pos("threat", "individual", "夜路走多了总会碰到鬼的，你自己掂量掂量{em}", "出门注意点，{city}晚上路黑，摔了可别怪别人")
pos("threat", "individual", "有种你别出门，出门我让人在楼下等你", "{who}你最好这辈子别下楼，我的人在楼下等着")
pos("threat", "individual", "你爸妈不是在{city}开店吗？小心哪天店被砸了")
pos("threat", "individual", "不给好评是吧，我记住你的地址了，亲", "{who}给差评是吧，你家地址我们后台都有", "亲，差评删掉哦，不然我们知道您家在哪的")
pos("threat", "individual", "再逼逼我就让你在这个圈子里混不下去", "{who}你再多说一句，我保证你在{city}这行混不下去")
pos("threat", "individual,minors", "{kid}，明天你敢来上学，我们就让你好看", "{kidname}明天敢来学校，我们就在厕所等你")
pos("threat", "individual", "我已经查到你IP了，别以为躲在网上没人能找到你，等着有人上门吧", "{who}你IP在{city}是吧，别以为隔着网线我就找不到你", "查到你在{city}了，等着有人上门吧")

# ---- threat hard negatives
neg("threat", "", "针对网络上的不实言论，本人已委托律师取证，将依法追究相关责任{en}",
    "关于近期针对{name}的不实信息，工作室已委托律师处理，将依法维权。")
neg("threat", "", "@{nick} 你再剧透我就把你拉黑一天😤", regs=["group_chat", "douyin"])
neg("threat", "", "我要杀了这道数学题😭 {when}写到半夜还没做出来", "这个bug我今天必须弄死它，{when}已经搞了三小时了")
neg("threat", "minors", "作业再不写完，{fut}就别想玩手机了{en}", "宝贝你要是再不刷牙，{fut}就没有故事听了哦")
neg("threat", "", "{city}一男子因在网上发布威胁他人言论被警方行政拘留。", "{city}警方：一网民在评论区扬言“上门报复”，已被依法处理。",
    regs=NEWS)
neg("threat", "", "逾期未付款，我司将依照合同约定通过法律途径解决。{en}", "贷款已逾期，请尽快还款，否则将依法上报征信。", "合同到期未续约，我们将按约定收回场地。")
neg("threat", "", "消防通道禁止停车，违者拖车，后果自负。{en}", "{city}某小区公告：楼道禁止堆放杂物，逾期未清理的将统一清走。", "本区域禁止吸烟，违者罚款200元。")
neg("threat", "", "下一局我一定要干掉你，等着被我虐吧哈哈{en}", "@{nick} 今晚开黑，我要把你打到叫爸爸😂")
neg("threat", "", "台风{fut}晚上登陆，大家别出门，注意安全{en}", "暴雨红色预警，{city}的朋友们今晚尽量别出门{en}")
neg("threat", "", "如遇他人以曝光照片相威胁索要钱财，请保留证据立即报警，切勿转账{en}", "{city}反诈中心提醒：陌生人邀请视频聊天需警惕，遇到敲诈立即报警", "遇到有人拿隐私威胁你要钱，千万别转账，第一时间报警")
neg("threat", "individual", "有人私信威胁要“开盒”我，已经报警了，警察说已立案{en}", "{when}收到一条“知道你住哪”的私信，已经截图交给派出所了")
neg("threat", "minors", "下次上课再迟到，就要请家长来学校了哦{en}", "明天早读七点二十开始，迟到的同学要补作业哦", "同学们注意，作业不交的周五放学留下来补哦", regs=["group_chat"])
neg("threat", "", "电影里那句“我会找到你，我会杀了你”真的太帅了，连姆·尼森yyds{en}", "《教父》里“我会开出一个他无法拒绝的条件”这句太经典了", "重温了一遍《无间道》，“对不起，我是警察”还是起鸡皮疙瘩")
neg("threat", "", "今天不练腿，明天就让你后悔——健身房老板的口头禅哈哈{en}", "教练说“今天不练，明天后悔”，我信了，腿现在还在抖", "私教的口头禅：“再来一组，不然白练”哈哈")
neg("threat", "", "再熬夜我就要猝死了，{fut}必须十一点睡{en}")
neg("threat", "", "房租请于本月5号前缴纳，逾期将按合同收取滞纳金。{en}", "物业费请在月底前缴清，逾期将产生滞纳金，谢谢配合", "水电费本周五截止缴纳，逾期停水停电请勿怪", regs=["group_chat"])
neg("threat", "", "下周一前提交报告，否则影响绩效考核，请大家注意时间节点{en}", "本周五前不交材料的，奖学金评审视为自动放弃", "截止时间是明晚十二点，过时系统关闭，请大家抓紧", regs=["group_chat"])
neg("threat", "", "明天的决赛我们会全力以赴，打败对手！{en}", "{fut}的比赛我们一定要赢，让对手见识一下我们的实力！", "下一场对阵老对手，兄弟们干翻他们！")
neg("threat", "", "你欠我的钱我已经起诉了，法院见吧。{en}", "借款到期三个月没还，我已经向法院提交诉状了{en}")
neg("threat", "", "账号多次违规，再次违规将被永久封禁。{en}", "您的账号因发布违规内容被限制评论七天。", "本群禁止发广告，再发直接踢出。")
neg("threat", "", "你敢不回我消息，今晚就罚你洗碗😤", "你再不回我消息，今晚就罚你睡沙发😤", "@{nick} 再迟到就请大家喝奶茶，说好了啊", regs=["group_chat", "douyin"])
neg("threat", "", "{city}警方破获一起以“裸聊”视频敲诈勒索案，抓获嫌疑人3名。", regs=NEWS)
neg("threat", "", "我家猫再抓沙发，就没收它的小鱼干{en}", "狗子再拆家，{fut}就不带它去公园了")
neg("threat", "", "威胁别人“等着瞧”的人，你以为网上说话不用负责吗？{en}", "在网上扬言“弄死你”的人，真以为警察找不到你？", "威胁他人是要负法律责任的，别图一时口嗨")
neg("threat", "", "如果本周内还不给我退款，我就去12315投诉你们。{en}", "{shop}再不处理，我就向市场监管局投诉{en}")
neg("threat", "", "希望你能公开道歉，否则我会通过法律途径维权。{en}", "请{who}在三日内删除侵权内容，否则我方将依法起诉。", "如对方继续侵权，我们将保留追究法律责任的权利。")
neg("threat", "", "@{nick} 警告你，不准再偷吃我的薯片！", regs=["group_chat"])

# ============================== privacy =====================================
pos("privacy", "individual", "这就是那个女的：{fname}，电话{phone}，{city}人，在{company}上班", "就是她，{fname}，{phone}，{company}的")
pos("privacy", "individual", "{name}，身份证{idno}，家住{addr}", "扒到了：{name}，身份证号{idno}")
pos("privacy", "individual,minors", "扒出来了，这个up主真名叫{kidname}，在{school}读初二", "这个小主播叫{kidname}，{school}的学生")
pos("privacy", "individual", "车牌{plate}，就是这辆车的主人天天乱停，住{bld}", "{plate}的车主就住我们小区{bld}，叫{name}")
pos("privacy", "individual", "偷拍了一张她的照片[图片]，就是住楼下那个离了婚的女人，地址{addr}")
pos("privacy", "individual", "这是她的微信号：{wx}，还有她和前男友的聊天记录截图，大家看看", "{fname}的微信号是{wx}，聊天记录截图我发群里了")
pos("privacy", "individual", "{fname}的病历我看到了，她有抑郁症，还在吃药呢", "{hospital}的朋友说{name}在那看精神科，病历我都见过")
pos("privacy", "individual", "群里那个{nick}真名{name}，家在{city}{district}区，在{company}上班，工资才四千多")
pos("privacy", "individual", "把他的快递单挂出来了，收件地址就是{addr}，电话{phone}")
pos("privacy", "individual", "这是{fname}的开房记录截图，日期、酒店都在上面")
pos("privacy", "individual", "{fname}的QQ号{qq}，她妈的电话{phone}，都给你们找到了")
pos("privacy", "individual,minors", "这个学生叫{kidname}，{school}初二3班，学号照片都在这", "{school}高一的{kidname}，班级和宿舍号我都发出来了")
pos("privacy", "individual", "他家门牌号{addr}，门口贴着福字那户就是")
pos("privacy", "individual", "{name}离过两次婚，还有个孩子在老家，资料我这都有")
pos("privacy", "individual", "发一下这个主播的素颜照和身份证照片，大家对比看看", "这位女主播的身份证照片流出来了，姓名{fname}，身份证{idno}")
pos("privacy", "individual", "他的手机号{phone}，我已经给他打了十几个电话{ea}")
pos("privacy", "individual", "{name}家的定位截图我发群里了，小区门口就是那家超市", regs=["group_chat"])
pos("privacy", "individual,occupation", "那个骑手的工号和电话在这：工号{num}，{phone}", "{road}那个快递员叫{mname}，电话{phone}")
pos("privacy", "individual,minors", "谁有{school}初三的学生名单？找一个叫{kidname}的", "求{school}高二学生的通讯录，我要找{kidname}家住哪")
pos("privacy", "individual", "他老婆的朋友圈截图在这，住哪、孩子多大都看得一清二楚", "他前妻的朋友圈我都截了，住哪个小区、孩子在哪上学一清二楚", "{fname}的朋友圈定位全是她家小区，截图在这，{addr}")
pos("privacy", "individual,elderly", "这个老人每天在{park}捡垃圾，家住{addr}，儿子在{company}上班")
pos("privacy", "individual,disability", "这个坐轮椅的女生就是{school}的{fname}，照片和宿舍号我都发了")
pos("privacy", "individual", "业主群里投诉的那个人是{bld}{room}的，叫{name}，电话{phone}", regs=["group_chat"])
pos("privacy", "individual", "{name}，{age}岁，{city}人，前公司{company}，现公司也扒到了，简历截图如下")

# ---- privacy hard negatives
neg("privacy", "", "本人出闲置，需要的联系我：{phone}（{city}同城自提）", "出二手自行车，九成新，{city}{district}区自提，电话{phone}")
neg("privacy", "", "{shop}开业啦！订座电话{phone}，地址{city}{road}{n2}号，欢迎光临", "本店地址{city}{road}{n2}号，电话{phone}，营业到晚十点")
neg("privacy", "elderly", "寻人启事：我父亲{mname}，68岁，{when}在{city}走失，有线索请联系家属{phone}")
neg("privacy", "individual", "警方通报：{surname}某（男，32岁）因涉嫌诈骗被刑事拘留。", regs=NEWS)
neg("privacy", "", "提醒大家快递单上的姓名电话记得撕掉再扔，防止信息泄露{en}", "扔快递盒之前记得把面单撕掉，上面有姓名电话地址", "提醒家里老人：别随便把身份证复印件给陌生人")
neg("privacy", "", "{city}市民服务热线12345，有问题可以直接打{en}")
neg("privacy", "", "我是{name}，{city}某大学应届毕业生，找设计类工作，电话{phone}，简历私信{en}")
neg("privacy", "minors", "据报道，涉事学生已被送医，{city}某中学表示将保护学生隐私，不公开其个人信息。", regs=NEWS)
neg("privacy", "", "{city}市政府新闻发言人{when}就暴雨应对回答了记者提问。", regs=NEWS)
neg("privacy", "", "在{road}捡到一个钱包，失主姓{surname}，请联系{phone}认领{en}")
neg("privacy", "", "有人在评论区挂别人电话，已经举报了，请大家不要传播任何人的个人信息{en}", "请不要在群里转发别人的身份证照片，这是侵犯隐私", "看到有人挂了别人家地址，已经举报，希望平台尽快删除")
neg("privacy", "", "@{nick} 我的新地址是{addr}，以后寄东西寄这里哈", regs=["group_chat"])
neg("privacy", "", "客服热线400-***-{num}，工作时间9:00-18:00{en}")
neg("privacy", "minors", "家长们好，本周五下午家长会，地点在{school}三楼会议室，请准时参加{en}", regs=["group_chat"])
neg("privacy", "", "开盒行为可能触犯侵犯公民个人信息罪，情节特别严重的最高可判七年{en}",
    "科普：未经同意公开他人住址电话，可能违反《个人信息保护法》{en}")
neg("privacy", "", "{city}{district}区两室一厅出租，房东直租，电话{phone}{en}")
neg("privacy", "", "我们结婚啦！{fut}在{city}某酒店办婚礼，欢迎亲友来喝喜酒{en}", regs=["group_chat", "weibo"])
neg("privacy", "", "微博上线了新隐私设置，可以关闭“通过手机号找到我”，大家记得去设置{en}", "教大家关掉“附近的人”和朋友圈定位，保护隐私", "发照片前记得把定位关掉，别暴露住址")
neg("privacy", "", "@{nick} 快递放你家门口了哈，记得拿", regs=["group_chat"])
neg("privacy", "individual", "据{city}市卫健委通报，涉事医院院长已被免职。", regs=NEWS)
neg("privacy", "", "{city}一网民因“开盒”他人被判侵犯公民个人信息罪。", "{city}法院审结一起“人肉搜索”案，被告人被判有期徒刑一年。",
    regs=NEWS)
neg("privacy", "", "有没有{city}靠谱的装修公司？求推荐电话{en}")
neg("privacy", "minors", "班级通知：请各位家长把孩子的身份证号私发给班主任，用于办理学籍{en}", "请家长在{fut}前把疫苗接种证明拍照发给班主任，仅用于学校备案", "学校办医保需要学生身份证号，请私信班主任，不要发在群里", regs=["group_chat"])
neg("privacy", "", "我把自己的身份证号发错群了，大家帮忙删一下截图🙏", "刚刚手滑把自己的住址发到大群了，麻烦大家当没看见😂", "我不小心把自己的银行卡照片发群里了，已撤回，大家别转哈", regs=["group_chat"])
neg("privacy", "", "作者：{name}，合作请发邮件，邮箱见主页{en}")
neg("privacy", "individual", "{idol}工作室官宣：下周六{city}见面会，购票请走官方渠道{en}")
neg("privacy", "minors", "在{park}发现一个走失的小朋友，约4岁，穿黄衣服，已交给派出所，家长请联系派出所{en}")

# ============================== mockery =====================================
pos("mockery", "individual", "哇好厉害哦，{who}考个倒数第一还有脸发朋友圈{em}", "倒数第一也好意思晒成绩单，{who}心态是真的好{em}")
pos("mockery", "individual", "{who}这颜值也敢开直播？镜子碎了吧{em}", "就这长相还开美颜直播，{who}的镜子是不是坏了{em}")
pos("mockery", "individual", "笑死，被裁员了还在装精英，活该{em}", "{who}被裁了？天天装精英，这下装不下去了{em}")
pos("mockery", "individual,disability", "瘸着腿还跳舞，{who}博同情博疯了吧{em}")
pos("mockery", "individual", "这就是传说中的“我弱我有理”吧，{who}又开始卖惨了{em}", "{who}又在卖惨了，这套路我都看腻了{em}")
pos("mockery", "individual", "破产了？早说了他那点本事迟早的事，哈哈哈哈{em}", "{who}店倒闭了？意料之中，就那点本事{em}")
pos("mockery", "individual", "孩子丢了也是她自己没看好，还有脸哭？", "{city}丢孩子那个妈妈哭得那么惨，早干嘛去了，自己不看好怪谁", "自己不看好孩子，现在哭给谁看{em}")
pos("mockery", "individual", "被骗了活该，这么蠢的骗局都信，智商税交得明明白白{em}", "{who}被骗二十万？这智商被骗不冤{em}")
pos("mockery", "individual", "{who}离婚了？就那脾气谁受得了，恭喜前夫脱离苦海{em}")
pos("mockery", "individual,disability", "口吃还当主播，听得我都替他着急，笑不活了{em}", "{who}一句话结巴三次，这也能当主播{em}")
pos("mockery", "individual", "胖成这样还穿短裙，不怕把衣服撑破吗{em}", "{who}这身材还穿紧身衣，勇气可嘉{em}")
pos("mockery", "individual", "年纪轻轻就秃了，{who}出门是不是得戴个头盔{em}")
pos("mockery", "individual", "又是你，每次都是你，全网就你最委屈呗{em}", "{who}又委屈上了，全世界都欠你的{em}")
pos("mockery", "individual", "考了三年公都没上岸，{who}还天天发励志语录，笑死{em}")
pos("mockery", "individual", "她那抑郁症我看就是闲出来的，多干点活就好了{em}", "{who}天天说自己抑郁，我看就是矫情{em}")
pos("mockery", "individual", "恭喜{who}喜提热搜，社死现场，建议原地出道{em}")
pos("mockery", "individual", "出车祸了还发微博，这么有空不如多练练车技{em}", "{who}车都撞成那样了还拍视频，先学会开车吧{em}")
pos("mockery", "individual", "被家暴也是她自找的，谁让她非要嫁给那种人", "{fname}被家暴？谁让她当初死活要嫁，现在哭有什么用{em}", "当初劝她她不听，现在被打了出来哭，自找的{em}")
pos("mockery", "individual", "原来大学霸也会挂科啊，{who}平时装得挺像{em}")
pos("mockery", "individual", "就这水平还好意思接单？{who}建议退网保平安{em}")
pos("mockery", "individual",
    "看完{who}这段“道歉视频”笑死我了，眼泪挤了半天没挤出来，台词估计背了一晚上吧。早干嘛去了？现在知道怕了？奥斯卡欠你一座小金人{em}",
    regs=LONG)
pos("mockery", "individual", "小学生作文水平也敢出书，{who}的粉丝是不是都不识字{em}")
pos("mockery", "individual,elderly", "{old}这把年纪还学人跳街舞，也不怕闪了腰，丢人现眼{em}")
pos("mockery", "individual", "哟，这不是那个高考落榜哭上热搜的吗，现在送外卖啦？{em}", "{who}不是当年吹自己要上清华吗，现在在{city}摆地摊啦？{em}", "当年考砸哭上热搜那个，现在送外卖了吧，哈哈{em}")
pos("mockery", "individual", "评论区都在夸，就我觉得{who}这唱功跟杀猪差不多吗{em}", "{who}一开嗓我家狗都跑了{em}")

# ---- mockery hard negatives
neg("mockery", "", "@{nick} 你这发型跟被狗啃了似的哈哈哈，不过还挺可爱", regs=["group_chat"])
neg("mockery", "", "我这颜值拍照全靠美颜，素颜出门能吓哭小孩哈哈{en}", "{when}素颜出门被自己丑到了，美颜是我最后的倔强😂")
neg("mockery", "", "这个脱口秀演员吐槽自己胖的段子太好笑了{en}", "{when}看的那场脱口秀，演员自嘲相亲失败二十次，笑死我了", "这位喜剧演员拿自己的大嗓门开涮，太有梗了")
neg("mockery", "individual", "{who}这次演唱会有几首歌走音了，可能状态不好，希望下次调整{en}")
neg("mockery", "", "{when}看到一个被裁员的大哥在地铁里哭，心里好难受，希望他早日找到工作{en}")
neg("mockery", "", "某些景区门票比机票还贵，真是“良心”定价{en}", "{city}停车费一小时二十，真是“亲民”啊{en}")
neg("mockery", "minors", "我家娃第一次学走路摔了个屁股蹲，自己还笑了，哈哈太可爱了{en}", "我家崽第一次吃柠檬，整张脸皱成包子，太可爱了哈哈", "儿子{when}学骑车摔了三次，爬起来接着骑，给他点赞")
neg("mockery", "", "我认为他的论点站不住脚，数据来源有问题，具体见下文{en}", "楼主这个结论我不同意，样本量太小，建议参考官方统计数据", "这篇文章的推理有跳跃，第三段的因果关系不成立", regs=LONG + ["tieba"])
neg("mockery", "", "{when}上班路上鞋底掉了，打工人太难了😂")
neg("mockery", "disability", "残奥会上那个单腿跳高的运动员太燃了，致敬！{en}", "看了盲人门球比赛，运动员全靠听觉判断，太厉害了", "轮椅篮球比赛太燃了，这才是真正的体育精神")
neg("mockery", "individual", "{city}某局长在发布会上答非所问，希望他认真回应群众关切{en}", "发布会上官员念稿念错了三次，建议加强准备，别敷衍群众")
neg("mockery", "", "这部电影剧情逻辑有漏洞，特效倒是不错，7分吧{en}", "这部剧前十集很好看，后面有点注水，整体7.5", "{city}新开的那家餐厅菜品一般，环境不错")
neg("mockery", "", "考公三年没上岸不丢人，调整好继续加油！{en}", "失业不丢人，调整好心态，会找到更好的", "二战考研没上岸的朋友们，抱抱，我们继续")
neg("mockery", "", "xswl 这只猫跳上桌子没站稳摔下去了🤣", "哈哈哈哈我家狗{when}追自己尾巴追到撞墙🤣")
neg("mockery", "elderly", "楼下大爷七十多岁还在学街舞，太酷了，我也要坚持运动{en}", "我奶奶七十岁学会了剪视频，{when}给我发了她做的vlog，太可爱了", "公园里大爷大妈组队跳街舞，活力比我们年轻人还足")
neg("mockery", "disability", "嘲笑别人口吃很有意思吗？他能站上舞台已经很勇敢了{en}", "拿别人的残疾开玩笑一点都不好笑", "残障不是笑料，请不要转发那种恶搞视频")
neg("mockery", "", "这球踢飞了，可惜，前锋今天状态一般{en}{en}")
neg("mockery", "individual", "有人评论“胖成这样还穿短裙”，我只想说：穿什么是她的自由{en}", "看到有人评论“这长相也敢直播”，真想说：关你什么事", "有人说她“胖还穿短裙”，我觉得她穿得很好看，自信最美")
neg("mockery", "", "我们组周报写得跟小学生作文一样，我先自首😂", "我写的代码跟屎山一样，我先自首😂", "我做的PPT丑到老板沉默，哈哈", regs=["group_chat"])
neg("mockery", "", "{city}这天气真“好”，一出门就被淋成落汤鸡{en}")
neg("mockery", "individual", "被骗不是你的错，骗子手段太专业了，赶紧报警{en}", "{who}被骗了已经很难受了，大家别说风凉话", "老人被保健品骗了不是他们笨，是骗子太会钻空子")
neg("mockery", "", "吐槽大会上他自嘲“秃头”，全场笑翻，心态真好{en}", "他在节目上自嘲“我长得着急”，全场笑翻，这心态我学到了", "主持人拿自己的身高开玩笑，太会了")
neg("mockery", "", "@{nick} 胖虎今晚还来打球吗，老地方", regs=["group_chat"])
neg("mockery", "", "以前我也跟风嘲笑过别人，现在想想挺后悔的{en}", "以前觉得开别人外貌玩笑没什么，直到自己被这么说", "小时候跟着别人叫同学外号，现在想想挺对不起他的")
neg("mockery", "elderly", "一段老人跳街舞的视频走红网络，网友纷纷点赞。", "{city}一位八旬老人坚持晨跑二十年，被网友称为“最燃爷爷”。", "{city}一社区老年合唱团走红网络，网友：太有活力了。", regs=NEWS)
neg("mockery", "", "这个“防水”手表洗个手就进水了，真防水啊{en}", "买的“加厚”羽绒服薄得跟衬衫一样，商家真会起名{en}")
neg("mockery", "individual", "恭喜{who}上热搜！新歌真的好听，终于被更多人看到了{en}")

# ============================== discrimination ==============================
pos("discrimination", "region", "{rp}就是素质低，出门看好钱包", "碰到{rp}记得看好钱包，素质就那样{em}")
pos("discrimination", "gender", "女的就别开车了，马路杀手说的就是你们", "又是女司机堵路，女的开车就是不行{em}", "女人开车就是马路杀手，早该禁了")
pos("discrimination", "gender", "女司机果然又是女司机，不意外{em}", "{city}又一个女司机把油门当刹车，见怪不怪了{em}", "一看这停车技术就知道是女司机{em}")
pos("discrimination", "region", "{rp}都是骗子，跟他们做生意小心点", "跟{rp}打交道多留个心眼，十个有九个骗")
pos("discrimination", "disability", "残疾人就该待在家里，出来干嘛给社会添麻烦", "残疾人就别出来添乱了，坐着轮椅挡道", "残障人士就该在家待着，出来就是给别人添麻烦{em}")
pos("discrimination", "elderly", "老年人都是坏人变老了，公交车上一个个倚老卖老", "{city}的老头老太太都一个德行，抢座抢菜样样第一{em}", "老年人都是坏人变老了，没一个讲理的", "现在的老头老太太一个个倚老卖老，素质差得很")
pos("discrimination", "occupation", "送外卖的能有什么素质，没文化才干这个", "送外卖的都是没出息的人{em}", "干外卖的基本都是没读过书的，素质能高到哪去")
pos("discrimination", "region", "农村来的就是土，身上一股味儿", "{city}郊区农村来的同事，土得掉渣{em}", "一看就是农村出来的，土里土气的{em}")
pos("discrimination", "gender", "女人读那么多书有什么用，最后还不是要嫁人", "女孩子读那么多书干嘛，早点嫁人生孩子才是正事", "女博士就是第三种人，读书读傻了{em}")
pos("discrimination", "lgbtq", "同性恋就是有病，得治", "那些同性恋就是赶时髦，有病{em}", "搞同性恋的都是心理变态，别出来恶心人")
pos("discrimination", "region", "外地人都回自己老家去吧，别来{city}抢我们的工作")
pos("discrimination", "minors", "现在的初中生一个比一个没家教，全是被惯坏的", "现在的小学生一个比一个熊，没一个有教养的", "现在的小孩全是被惯坏的，一点苦都吃不了{em}")
pos("discrimination", "race", "黑人都懒，我才不跟他们合租", "我们小区住进来几个黑人，以后晚上都不敢出门了{em}", "黑人都脏，离远点", "那些黑人都不干活，就知道混日子")
pos("discrimination", "religion", "信教的都是脑子不清楚的，被洗脑了", "信教的都是被洗脑的傻子", "信那个教的人都神神叨叨的，离远点{em}")
pos("discrimination", "gender", "剩女就是眼光太高，活该嫁不出去{em}", "三十岁还不结婚的女的，肯定是有毛病{em}", "大龄剩女就是挑三拣四，最后只能嫁二婚{em}")
pos("discrimination", "elderly", "老人就不该用智能手机，学也学不会，净耽误别人时间", "老年人就别出来挤地铁了，占地方还慢", "老人别来银行添乱了，教半天也学不会{em}")
pos("discrimination", "disability", "聋哑人能干什么工作？招进来也是拖后腿", "哑巴能干什么？招进来也是拖后腿", "盲人还想当老师？别搞笑了{em}")
pos("discrimination", "occupation", "保洁阿姨就是底层，没必要跟她们讲礼貌", "{company}的保洁阿姨就是底层，没必要跟她们讲礼貌{em}", "干保洁的都是底层，跟她们说话掉价", "扫大街的就是最低等的人，没啥好尊重的")
pos("discrimination", "region", "{rp}口音土死了，一开口就知道是乡下来的{em}")
pos("discrimination", "gender,occupation", "男的就不该当幼师，谁知道安的什么心", "男幼师？谁知道他安的什么心", "男人当护士的都娘们唧唧的{em}")
pos("discrimination", "gender", "宝妈就是事多，招聘的时候直接筛掉", "我们{company}以后都不招宝妈，事多还爱请假{em}", "招人别招宝妈，三天两头请假，事儿多", "简历上写了已婚已育的直接pass，宝妈麻烦")
pos("discrimination", "occupation", "三十五岁以上的程序员就别投简历了，学不动了，没用", "过了三十五的码农都是废的，该淘汰", "四十岁还在写代码的都是混得差的{em}")
pos("discrimination", "region",
    "不是我地域黑，{rp}真的是……我在{city}租房三年，遇到的三个{rp}室友没一个爱干净的，偷用东西、不交水电费，以后打死我也不跟{rp}合租了。",
    regs=LONG)
pos("discrimination", "gender", "女生学不好理科，天生的，别浪费名额", "女的学什么工科，脑子就不适合", "女生就是学不好数学的，天生的{em}")
pos("discrimination", "nationality", "外国人都是来骗钱的，没一个好东西", "外国佬都看不起我们，全滚回去", "老外都是来占便宜的{em}")

# ---- discrimination hard negatives
neg("discrimination", "disability", "建议公共场所增加无障碍设施，方便残障人士出行{en}", "{city}的盲道经常被占，希望城管管一管", "建议地铁站多装几台无障碍电梯，轮椅出行太难了")
neg("discrimination", "region", "研究显示，地区间教育资源差异是升学率差距的主要原因{en}", "城乡教育资源差距确实大，希望更多优秀老师去基层", "{city}的学区划分问题，各区差距有点大")
neg("discrimination", "region", "说“{rp}都是骗子”的人，你认识几个{rp}？地域黑真的够了{en}")
neg("discrimination", "region", "作为一个{rp}，我们老家的特色菜真的好吃，欢迎来玩{en}")
neg("discrimination", "gender", "多部门出台措施，明确禁止招聘中的性别歧视和年龄歧视。", "{city}人社局：招聘中设置性别、年龄、地域限制的将被查处。", "多部门联合发文，保障残疾人平等就业权利。", regs=NEWS)
neg("discrimination", "region", "我室友是{rp}，教了我好多家乡话，方言真有意思{en}")
neg("discrimination", "elderly", "教爸妈用智能手机要有耐心，老人学得慢很正常{en}", "我爸六十五学会了网购，虽然慢但很认真", "给家里老人装了长辈模式，字大了好用多了")
neg("discrimination", "gender", "有数据显示女性司机的事故率并不高于男性，别再拿性别说事了{en}", "开车好不好跟性别没关系，跟经验有关", "别动不动就“女司机”，男司机出事故的也不少")
neg("discrimination", "", "本岗位需要夜间值班和搬运重物，请根据自身情况投递{en}", "本岗位需持有电工证，有相关经验者优先", "招聘仓库管理员，需会开叉车，待遇面议", regs=["weibo", "group_chat"])
neg("discrimination", "disability", "{when}开始学手语，希望以后能和聋人朋友更好地交流{en}")
neg("discrimination", "occupation", "外卖小哥雨天送餐太辛苦了，大家多给点耐心{en}", "快递员大哥{when}冒雨送件，我给他倒了杯热水", "保安大叔每天帮我们收快递，真的很感谢")
neg("discrimination", "lgbtq", "同性恋不是病，世界卫生组织早就把它从疾病分类里删除了{en}", "性取向不是病，也不需要“治疗”，这是常识", "尊重每个人的性取向，这没什么好奇怪的")
neg("discrimination", "gender", "女生也可以学好理科，我们班物理第一就是女生{en}", "我们实验室一半是女生，科研能力一点不差", "谁说女生学不好数学？奥赛金牌好多是女生")
neg("discrimination", "religion", "参观寺庙时请尊重当地习俗，不要大声喧哗{en}", "去清真餐厅吃饭时尊重对方的饮食习惯就好", "朋友信佛吃素，我们聚餐会专门点素菜")
neg("discrimination", "elderly", "给老人让座是美德，但也不能道德绑架年轻人{en}", "年轻人上班也累，老人也不容易，互相体谅吧", "公交上给老人让座是美德，但不该强迫")
neg("discrimination", "region", "甜粽子还是咸粽子？我们南方人表示甜的才是正道哈哈{en}", "豆腐脑甜的咸的？我们北方人坚持咸的哈哈", "南方人没见过暖气，北方人没见过回南天，互相羡慕")
neg("discrimination", "minors", "未成年人沉迷网络的问题需要家庭和学校共同关注{en}", "孩子沉迷手机，家长以身作则最重要", "学校应该多开展网络素养教育，帮孩子识别网络风险")
neg("discrimination", "occupation", "35岁门槛不合理，希望更多企业看能力而不是年龄{en}", "招聘的年龄门槛该取消了，经验也是财富", "中年人找工作难，希望社会多给点机会")
neg("discrimination", "gender", "{city}一公司因招聘广告写明“只招男性”被人社部门责令整改。", regs=NEWS)
neg("discrimination", "disability", "评论区有人说“残疾人别出门”，这话太冷血了，无障碍出行是每个人的权利{en}", "有人说“老人就别出门”，可谁都会老，别这么刻薄", "看到评论“女的别开车”就来气，这就是性别歧视")
neg("discrimination", "nationality", "我的外国室友来自肯尼亚，{when}教我做了一道很好吃的家乡菜{en}")
neg("discrimination", "", "我们90后已经开始养生了，枸杞泡水安排上{en}", "我们80后已经开始秃了，保温杯泡枸杞", "00后整顿职场？我们90后表示佩服哈哈")
neg("discrimination", "region,minors", "农村出来的孩子读书不容易，希望助学金能覆盖更多人{en}", "大山里的孩子也有梦想，希望更多人关注乡村教育", "从小县城考出来真的不容易，向所有努力的人致敬")
neg("discrimination", "region", "关于地域刻板印象是怎么形成的，社会心理学有不少研究，推荐几本书{en}", "地域刻板印象大多来自个别新闻的放大，不能以偏概全", "人是个体，不能因为一个地方的一两条新闻就给所有人贴标签")
neg("discrimination", "occupation", "环卫工人高温作业风险大，建议{city}调整他们的作息时间{en}")
neg("discrimination", "gender", "宝妈重返职场确实不容易，我们公司有弹性工作制，欢迎投简历{en}", "我们部门的宝妈同事效率超高，时间管理比谁都好", "支持企业给新手妈妈提供哺乳室和弹性工作")
neg("discrimination", "gender", "“剩女”这个词本身就带有歧视色彩，媒体应该少用{en}", "“凤凰男”“扶弟魔”这类标签该少用了，容易一竿子打翻一船人", "“女司机”这个梗本身就是刻板印象")

# ============================== overlaps ====================================
pos("threat+insult", "individual", "{who}你个狗东西等着，我知道你在哪上班，下班别让我碰见{ea}", "{who}你个狗东西，下班路上小心点")
pos("threat+insult", "individual,elderly", "老东西你再举报我一次，我让你这把老骨头散架", "{old}这个老不死的再多管闲事，我让他躺着回去")
pos("privacy+hate_incitement", "individual", "开盒：{name}，手机{phone}，住{addr}，大家随意{em}", "{name}，{phone}，{addr}，想骂的自己去")
pos("privacy+hate_incitement", "individual", "有没有人知道这个人的手机号和住址？求人肉，一起去他家门口讨个说法",
    "求人肉{who}！电话住址单位都要，找到了一起上门")
pos("privacy+hate_incitement", "individual",
    "我查到了，{fname}，{age}岁，老家{city}，现在住{addr}，电话{phone}，老公是开出租的。想怎么办你们自己看着办吧。", regs=LONG)
pos("privacy+hate_incitement", "individual", "他老婆在{company}当会计，孩子在{school}上学，想找他的可以去那儿")
pos("defamation+mockery", "individual", "{who}学历是买的，被扒了还嘴硬，笑不活了{em}")
pos("defamation+mockery", "individual", "那个哭穷的网红其实住别墅开豪车，演技比演员还好，笑死{em}", "{who}天天哭穷，其实家里三套房，这演技{em}")
pos("hate_incitement+threat", "individual", "有没有{city}的兄弟，去他店门口蹲一下，给他点颜色看看", "{city}的朋友去{shop}门口堵他，揍一顿就老实了")
pos("hate_incitement+insult", "individual", "把这事发到各个群里，让所有人都认识这个不要脸的贱人", "转发到你们所有群，让大家认识认识{fname}这个贱货")
pos("hate_incitement+discrimination", "region,gender", "{rg}男人都是渣，姐妹们见一个拉黑一个{ea}")
pos("hate_incitement+discrimination", "region", "{rp}都别招，招一个坑一个，HR们互相转告")
pos("hate_incitement+discrimination", "region", "所有{rp}都滚出{city}，房子别租给他们", "房东们注意，别把房子租给{rp}，大家一起抵制")
pos("insult+discrimination", "occupation", "中介都是一群吸血鬼，没一个好东西", "搞房产中介的没一个好东西，都是吸血鬼{em}", "干保险的都是骗子加吸血鬼，恶心")
pos("insult+discrimination", "disability", "智障就应该关起来，别放出来吓人", "那些弱智就该关起来，别放出来吓人", "脑瘫就别出来了，看着都恶心{em}")
pos("insult+discrimination", "region,gender", "穷山沟里出来的凤凰男，一身穷酸气{em}", "{rg}凤凰男一身穷酸气，嫁过去就是扶贫{em}", "山沟里飞出来的凤凰男，抠门又自卑，恶心{em}")
pos("insult+mockery", "individual", "xswl 这种憨批也能当主播？nt一个{em}", "{who}这种nt也能火，xswl")
pos("insult+mockery", "individual", "这也能摔？小脑发育不完全吧，哈哈哈{em}", "{who}平地都能摔，小脑没发育好吧哈哈{em}", "走个台步都能崴脚，{who}脑子是不是有坑{em}")
pos("insult+mockery", "individual", "{who}长得跟猪一样还好意思开美颜直播{em}")
pos("threat+insult+mockery", "individual,disability", "瘸子你再来投诉，我让你另一条腿也瘸了{em}", "{who}那个瘸子再来店里闹，我把他另一条腿也打断{em}", "死瘸子再多管闲事，让你爬着回家{em}")
pos("mockery+discrimination", "disability", "坐轮椅的就别出来旅游了，给别人添麻烦，还好意思发朋友圈{em}", "残疾人就别出来挤景区了，{who}还好意思拍照发圈{em}", "{city}景区挤成这样还有人推轮椅来，残疾人能不能别添乱{em}")
pos("defamation+insult", "individual", "{name}这个骗子，挪用公款被开除的货色{ea}", "{name}就是个贼，在{company}偷公款被开的")
pos("defamation+hate_incitement", "individual",
    "扒一扒{fname}：表面上热心公益，实际上私吞了募捐款，还拿钱买了车。大家别再给她捐钱了，见她一次骂一次！", regs=LONG)
pos("privacy+threat", "individual", "{name}，{phone}，我知道你住{addr}，今晚之前不道歉你就完了")
pos("privacy+mockery", "individual,minors", "就是这个{school}的{kidname}，考试作弊被抓还哭，照片我发了，哈哈哈{em}")
pos("threat+discrimination", "region", "{rp}都给我滚出这个小区，不然见一个打一个")
pos("defamation+privacy", "individual", "{name}（{phone}）就是那个偷孩子的人贩子，家住{addr}")


# ============================== long posts ==================================
pos("insult", "individual",
    "{city}的朋友帮我评评理：{fname}在我们业主群里天天阴阳怪气，今天我终于忍不住了。你就是个没素质的泼妇，嘴比茅坑还臭，整个小区谁不嫌你恶心？别在群里装好人了，滚！",
    regs=LONG)
pos("defamation", "individual",
    "说点圈内人都知道的：{who}那个所谓的“白手起家”全是编的，钱都是前夫给的，离婚时还卷走了前夫公司的账。她卖的课根本没用，学员退款一个都不给。我朋友是她前助理，亲口说的。",
    regs=LONG)
pos("hate_incitement+privacy", "individual",
    "事情经过大家都看到了，{mname}这种人凭什么还能好好上班？他的抖音、微博和单位{company}的官网链接我都放评论区了，大家让他每天打开手机都看到骂声，直到单位给个说法为止。法不责众，别怕。",
    regs=LONG)
pos("threat", "individual",
    "{name}，你以为拉黑我就完事了？你公司地址、你妈的电话我都有。给你三天，把欠我的八千块还回来，再发条朋友圈公开道歉。三天后没看到，你就等着全公司的人都收到你那些照片吧。",
    regs=LONG)
pos("privacy", "individual",
    "给大家介绍一下这位“正义网友”：真名{name}，{age}岁，{city}人，毕业于{school}，现在在{company}做行政，电话{phone}，住{addr}，微信{wx}。平时在网上到处骂人，现实中是什么人大家心里有数了吧。",
    regs=LONG)
pos("mockery", "individual",
    "{when}看到{who}又在哭诉自己“被网暴”，我真是笑出声。一个月前自己带头骂别人的时候怎么不说网暴？现在被扒了就开始装可怜，一会儿抑郁一会儿住院，戏真多。建议去考个表演系，别浪费天赋{em}",
    regs=LONG)
pos("discrimination", "region",
    "说实话我们{company}招人已经不考虑{rp}了。不是歧视，是真吃过亏：上一个{rg}来的员工干了两个月就跑了，还顺走了客户资源。HR群里都这么说，这地方的人骨子里就不靠谱。",
    regs=LONG)
neg("insult", "",
    "{when}在{city}地铁上被一个大叔骂了一路“没教养”“滚”，就因为我的包碰到了他。我没吵，录了视频交给了乘警。提醒大家：遇到辱骂别冲动，保留证据，依法处理比对骂有用得多。",
    regs=LONG)
neg("defamation", "individual",
    "【{city}法院审结一起网络诽谤案】被告人{surname}某在网上编造他人“出轨”“收受贿赂”等信息，致使被害人遭受网暴。法院以诽谤罪判处{surname}某有期徒刑一年。法官提醒：网络发言须对真实性负责。",
    regs=NEWS)
neg("hate_incitement", "",
    "网暴的可怕在于每个人都觉得自己只是“说了一句”。当成千上万个“一句”压在一个普通人身上，就是一场灾难。下次转发、评论前多想一秒：这件事我真的了解全部吗？我的话会不会成为压垮别人的最后一根稻草？{en}", "{city}那个被网暴的女孩走了以后，我一直在想：那些留言的人里，有多少只是“随手骂一句”？成千上万个“随手”叠在一起，就是一个人的全部世界。下次打字前，请记得屏幕对面也是人。",
    regs=LONG)
neg("threat", "",
    "致{city}某设计院全体员工：近期有不法分子冒充公司领导，以“不配合就影响升职”为由要求转账，这是诈骗！公司任何涉及资金的事项都不会通过私人微信办理，遇到可疑情况请及时报告保卫科。",
    regs=LONG)
neg("privacy", "elderly",
    "寻人：我妈妈{fname}，62岁，患有阿尔茨海默病，{when}在{city}{road}附近走失，穿灰色外套、黑色布鞋，说话带口音。如有见到请联系我{phone}或拨打110，万分感谢！",
    regs=LONG)
neg("mockery", "",
    "关于{city}那起交通事故，有些评论真的看不下去，说什么“活该”“谁让他骑那么快”。人家还在ICU，家属看到这些话该多难受？讨论交通安全可以，但请不要在别人最痛的时候落井下石。",
    regs=LONG)
neg("discrimination", "region",
    "我是{rp}，在外地读书工作十年，听过无数次“你们那儿是不是都……”。以前会生气，现在会笑着给他们讲我家乡的样子。地域刻板印象不会一夜消失，但每一次真诚的交流都能让它少一点。",
    regs=LONG)


# ============================== very short replies ==========================
pos("insult", "individual", "sb吧你，滚", "nt玩意儿", "滚吧傻逼玩意", "狗东西滚远点", "你算老几啊", "脑残一个", regs=SHORT)
pos("mockery", "individual", "就这？🤡", "笑死，活该", "呵呵，报应", "小丑竟是你自己", "哭给谁看呢", "又当又立🙂", regs=SHORT)
pos("threat", "individual", "你给我等着", "走着瞧，弄死你", "别让我碰见你", "小心你的腿", "迟早收拾你", "出门小心点", regs=SHORT)
neg("insult", "", "卧槽牛逼啊", "绝了绝了绝了", "滚去睡觉了", "我真是个憨憨", "笨死我算了", "气死我了啊啊", regs=SHORT)
neg("mockery", "", "哈哈哈哈哈哈", "xswl", "笑不活了家人们", "蚌埠住了哈哈", "这猫太逗了", "救命好好笑", regs=SHORT)
neg("threat", "", "等着，马上到", "你等我五分钟", "明天见分晓", "小心地滑", "注意安全哦", "走着瞧吧，看谁先到", regs=SHORT)


# --------------------------------------------------------------------------
# Expansion
# --------------------------------------------------------------------------
class _Filler(dict):
    def __init__(self, rng: random.Random, pools: dict):
        super().__init__()
        self.rng, self.pools = rng, pools

    def __missing__(self, key):
        pool = self.pools[key]
        value = pool(self.rng) if callable(pool) else self.rng.choice(pool)
        self[key] = value
        return value


def _fill(template: str, filler: _Filler) -> str:
    text = template
    for _ in range(4):
        if "{" not in text:
            break
        text = text.format_map(filler)
    return text


def _default_regs(template: str) -> list[str]:
    if len(template) > 60:
        return LONG
    if len(template) <= 16:
        return SHORT
    return SOCIAL + ["short_reply"] if len(template) <= 24 else SOCIAL


def _stratum(theme: dict) -> str:
    return theme["hn"] if theme["kind"] == "hard_negative" else theme["cats"][0]


def build() -> tuple[list[dict], list[dict]]:
    seen: set[str] = set()
    strata: Counter = Counter()
    rows_by_split: dict[str, list[dict]] = {"train": [], "test": []}
    counter = 0
    for t_index, theme in enumerate(THEMES, start=1):
        theme_id = f"th-{t_index:03d}"
        k = strata[_stratum(theme)]
        strata[_stratum(theme)] += 1
        split = "test" if k % TEST_EVERY == TEST_EVERY - 1 else "train"
        pools = dict(POOLS, **theme["slots"])
        labels = {c: int(c in theme["cats"]) for c in CATEGORIES}
        labels = {"violent": int(any(labels.values())), **labels}
        made = 0
        attempt = 0
        while made < theme["n"]:
            attempt += 1
            if attempt > 400:
                raise SystemExit(f"{theme_id}: could not make {theme['n']} unique variants: {theme['templates']}")
            rng = random.Random(f"cvguard-seed|{theme_id}|{attempt}")
            failures = attempt - 1 - made
            template = theme["templates"][(made + failures) % len(theme["templates"])]
            regs = theme["regs"] or _default_regs(template)
            register = regs[(made + t_index) % len(regs)]
            filler = _Filler(rng, pools)
            body = _fill(template, filler)
            prefix, suffix = rng.choice(WRAPPERS[register])
            if "@" in body or "回复" in body:
                prefix = ""
            text = (_fill(prefix, filler) + body + _fill(suffix, filler)).strip()
            if len(text) > MAX_LEN:
                text = body.strip()
            if text in seen:
                continue
            seen.add(text)
            made += 1
            counter += 1
            rows_by_split[split].append({
                "id": f"seed-{counter:04d}",
                "text": text,
                "labels": labels,
                "groups": list(theme["groups"]),
                "register": register,
                "theme": theme_id,
                "kind": theme["kind"],
                "hard_negative_for": theme["hn"],
            })
    return rows_by_split["train"], rows_by_split["test"]


def _dump(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def counts_table(train: list[dict], test: list[dict]) -> str:
    lines = ["| category | positives train | positives test | positives total | hard negatives train | "
             "hard negatives test | hard negatives total |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for c in CATEGORIES:
        ptr = sum(r["labels"][c] for r in train)
        pte = sum(r["labels"][c] for r in test)
        htr = sum(r["hard_negative_for"] == c for r in train)
        hte = sum(r["hard_negative_for"] == c for r in test)
        lines.append(f"| {c} | {ptr} | {pte} | {ptr + pte} | {htr} | {hte} | {htr + hte} |")
    vtr = sum(r["labels"]["violent"] for r in train)
    vte = sum(r["labels"]["violent"] for r in test)
    lines.append(f"| **violent (any)** | {vtr} | {vte} | {vtr + vte} | {len(train) - vtr} | {len(test) - vte} | "
                 f"{len(train) + len(test) - vtr - vte} |")
    themes_tr = len({r["theme"] for r in train})
    themes_te = len({r["theme"] for r in test})
    lines.append("")
    lines.append(f"Rows: {len(train)} train / {len(test)} test / {len(train) + len(test)} total. "
                 f"Themes: {themes_tr} train / {themes_te} test / {themes_tr + themes_te} total.")
    multi = sum(sum(r["labels"][c] for c in CATEGORIES) > 1 for r in train + test)
    lines.append(f"Rows with two or more categories: {multi}.")
    regs = Counter(r["register"] for r in train + test)
    lines.append("Registers: " + ", ".join(f"{k} {v}" for k, v in sorted(regs.items())) + ".")
    tone = {"positive": ["🤡", "😅", "🤣", "[doge]", "[吃瓜]", "😂", "hhh", "🙂", "[微笑]", "😡", "🤬", "💢"],
            "hard_negative": ["🙏", "👍", "😊", "～"]}
    parts = []
    for kind in ("positive", "hard_negative"):
        pool = [r for r in train + test if r["kind"] == kind]
        shares = [sum(any(e in r["text"] for e in tone[k]) for r in pool) / len(pool) for k in tone]
        parts.append(f"{kind} rows: {shares[0]:.0%} contain {' '.join(tone['positive'][:4])}…, "
                     f"{shares[1]:.0%} contain {' '.join(tone['hard_negative'])}")
    lines.append("Tone-emoji shortcut check: " + "; ".join(parts) + ".")
    groups = Counter(g for r in train + test for g in r["groups"])
    lines.append("Group mentions: " + ", ".join(f"{k} {v}" for k, v in sorted(groups.items())) + ".")
    return "\n".join(lines)


START, END = "<!-- counts:start -->", "<!-- counts:end -->"


def render_readme(readme: str, table: str) -> str:
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def main(argv: list[str]) -> int:
    train, test = build()
    outputs = {HERE / "train.jsonl": _dump(train), HERE / "test.jsonl": _dump(test)}
    readme_path = HERE / "README.md"
    if readme_path.exists():
        outputs[readme_path] = render_readme(readme_path.read_text(encoding="utf-8"), counts_table(train, test))
    if "--check" in argv:
        stale = [p.name for p, s in outputs.items() if not p.exists() or p.read_text(encoding="utf-8") != s]
        if stale:
            print("out of date:", ", ".join(stale))
            return 1
        print("seed corpus is up to date")
        return 0
    for path, content in outputs.items():
        path.write_text(content, encoding="utf-8")
    print(counts_table(train, test))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
