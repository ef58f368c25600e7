"""The personal-data detectors: complete numbers are checked (ID checksum and date, Luhn), starred-out numbers
count as masked, made-up numbers are reported as failing their check, and addresses or schools count only next
to a person."""

import pytest

from cvguard.monitor.pii import detect, id_checksum_ok, luhn_ok, raises_privacy


def found(text: str) -> list[tuple[str, str]]:
    return [(f["kind"], f["status"]) for f in detect(text)]


@pytest.mark.parametrize("text, expected", [
    ("身份证11010519491231002X 大家记一下", [("id_number", "valid")]),  # GB 11643's published example
    ("身份证110105194912310021", [("id_number", "invalid_checksum")]),  # one digit off: made up
    ("身份证110105194913310028", [("id_number", "invalid_checksum")]),  # month 13
    ("她身份证我都看到了 3303**********264X 不退钱", [("id_number", "masked")]),
    ("电话13812345678打爆他", [("mobile", "valid")]),
    ("他电话158****3307 想骂的自取", [("mobile", "masked")]),
    ("手机 138-1234-5678", [("mobile", "valid")]),
    ("卡号4111111111111111", [("bank_card", "valid")]),
    ("卡号4111111111111112", [("bank_card", "invalid_checksum")]),
    ("卡号6222 **** **** 1234", [("bank_card", "masked")]),
    ("车牌浙A·12345 天天停楼下", [("plate", "valid")]),
    ("车牌粤B***12", [("plate", "masked")]),
    ("她住鄞州那个xx花园 12栋 我邻居见过她", [("address", "valid")]),
    ("华x宇 东湖理工机电学院 2022级3班", [("school", "valid")]),
])
def test_numbers_are_checked_masked_numbers_count_and_fake_ones_are_reported(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize("text", ["本店地址幸福小区3号 欢迎光临", "今天2024年3月12日 阅读量10000000", "东湖理工机电学院今年扩招",
                                  "订单号20240312000001"])
def test_dates_counts_order_numbers_and_addresses_with_no_person_are_not_personal_data(text):
    assert detect(text) == []


def test_only_valid_or_masked_findings_raise_privacy():
    assert raises_privacy(detect("他电话158****3307"))
    assert not raises_privacy(detect("身份证110105194912310021"))
    assert not raises_privacy([])


def test_the_check_digits_match_their_definitions():
    assert id_checksum_ok("11010519491231002", "X") and not id_checksum_ok("11010519491231002", "1")
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")
