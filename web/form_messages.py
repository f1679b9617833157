"""What is wrong with a form, in the words of a clerk filling it in: “请填写申报年度”, not “必填 / required”.

``friendly_errors(schema, data)`` validates like ``engine.forms.validate`` (JSON Schema 2020-12,
the same errors) but says each problem with the field's title, in the page's language:

    required            请填写申报年度 / 请选择申报类型 / 请上传评价报告
    minLength, "\\S"     请填写联系人
    maxLength           联系人最多 50 个字
    minimum, maximum    年综合能源消费量不能小于 0
    pattern             联系电话格式不正确：请填写手机号或带区号的固定电话（a form may say how: ``x-pattern-hint``)
    enum, const, oneOf  请从选项中选择申报层级
    type                年综合能源消费量应为数字

The engine checks the same data again when the command runs; this is only how the page says it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

from web.i18n import localized, pick

# How a field of a known shape is filled in, when its form does not say (``x-pattern-hint``).
PATTERN_HINTS: dict[str, tuple[str, str]] = {
    "contact_phone": ("请填写手机号或带区号的固定电话，如 0851-88880000",
                      "a mobile number or a landline with its area code, e.g. 0851-88880000"),
    "credit_code": ("统一社会信用代码为 18 位数字和大写字母", "18 digits and capital letters"),
    "id_number": ("身份证号码为 18 位", "18 characters"),
}


def _prop_at(schema: Mapping, path: list[str | int]) -> Mapping:
    """The property schema at a data path (through ``properties`` and ``items``); {} if unknown."""
    node: Any = schema
    for step in path:
        if not isinstance(node, Mapping):
            return {}
        if isinstance(step, int):
            node = node.get("items") or {}
        else:
            node = (node.get("properties") or {}).get(step) or {}
    return node if isinstance(node, Mapping) else {}


def _title(prop: Mapping, name: str) -> str:
    return localized(prop) or name


def _is_choice(prop: Mapping) -> bool:
    return bool(prop.get("oneOf") or prop.get("anyOf") or prop.get("enum")) or prop.get("type") == "boolean"


def _is_file(prop: Mapping) -> bool:
    return prop.get("x-widget") == "file" or "sha256:" in str(prop.get("pattern", ""))


def missing(prop: Mapping, name: str) -> str:
    title = _title(prop, name)
    if _is_file(prop):
        return pick(f"请上传{title}", f"Please upload {title}")
    if _is_choice(prop):
        return pick(f"请选择{title}", f"Please choose {title}")
    return pick(f"请填写{title}", f"Please fill in {title}")


def _message(error, prop: Mapping, name: str) -> str:
    title = _title(prop, name)
    kind, limit = error.validator, error.validator_value
    if kind == "minLength" or (kind == "pattern" and limit == "\\S"):
        if kind == "pattern" or limit <= 1:
            return missing(prop, name)
        return pick(f"{title}至少 {limit} 个字", f"{title}: at least {limit} characters")
    if kind == "maxLength":
        return pick(f"{title}最多 {limit} 个字", f"{title}: at most {limit} characters")
    if kind in ("minimum", "exclusiveMinimum"):
        return pick(f"{title}不能小于 {limit}", f"{title} may not be less than {limit}")
    if kind in ("maximum", "exclusiveMaximum"):
        return pick(f"{title}不能大于 {limit}", f"{title} may not be more than {limit}")
    if kind == "pattern":
        hint = prop.get("x-pattern-hint")
        pair = (hint, prop.get("x-pattern-hint-en")) if hint else PATTERN_HINTS.get(name)
        if _is_file(prop):
            return pick(f"请上传{title}（PDF 文件）", f"Please upload {title} (a PDF file)")
        if pair:
            return pick(f"{title}格式不正确：{pair[0]}", f"{title} is not valid: {pair[1] or pair[0]}")
        return pick(f"{title}格式不正确", f"{title} is not valid")
    if kind in ("enum", "const", "oneOf", "anyOf"):
        return pick(f"请从选项中选择{title}", f"Please choose {title} from the list")
    if kind == "type":
        wanted = limit if isinstance(limit, str) else next((t for t in limit if t != "null"), "string")
        words = {"integer": ("整数", "a whole number"), "number": ("数字", "a number"),
                 "boolean": ("“是”或“否”", "yes or no"), "array": ("列表", "a list"), "object": ("一组内容", "a group")}
        zh, en = words.get(wanted, ("文字", "text"))
        return pick(f"{title}应为{zh}", f"{title} should be {en}")
    if kind in ("minItems", "maxItems"):
        return pick(f"{title}的项数不符合要求（{kind == 'minItems' and '至少' or '至多'} {limit} 项）",
                    f"{title}: {'at least' if kind == 'minItems' else 'at most'} {limit} items")
    if kind == "format":
        return pick(f"{title}格式不正确（{limit}）", f"{title} is not a valid {limit}")
    return pick(f"{title}不符合要求", f"{title} is not valid")


def friendly_errors(schema: Mapping, data: Any) -> dict[str, str]:
    """Dotted path -> message for every problem of ``data`` against ``schema`` (the first per field)."""
    if not isinstance(data, Mapping):
        return {"data": pick("表单内容无效", "The form is not valid")}
    errors: dict[str, str] = {}
    validator = Draft202012Validator(dict(schema))
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = list(error.absolute_path)
        if error.validator == "required":
            name = error.message.split("'")[1] if "'" in error.message else ""
            prop = _prop_at(schema, [*path, name])
            errors.setdefault(".".join(map(str, [*path, name])), missing(prop, name))
        elif error.validator == "additionalProperties":
            errors.setdefault(".".join(map(str, path)) or "data",
                              pick("表单含有不认识的内容，请刷新页面后重填", "The form has unknown fields: reload the page"))
        else:
            name = str(path[-1]) if path else "data"
            errors.setdefault(".".join(map(str, path)) or "data", _message(error, _prop_at(schema, path), name))
    return errors
