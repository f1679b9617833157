"""Task forms: widgets from the real schemas, errors beside their fields, typed parsing, rows, files."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, render_template_string
from werkzeug.datastructures import FileStorage, MultiDict

from web import formkit, i18n
from web.uploads import FileStore

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "bpmn" / "forms"
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"

MEMBERS_SCHEMA = {
    "type": "object",
    "required": ["members"],
    "properties": {
        "members": {
            "type": "array",
            "title": "成员单位",
            "x-title-en": "Members",
            "maxItems": 3,
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "title": "名称", "maxLength": 50},
                    "share": {"type": "number", "title": "占比", "x-unit": "%"},
                },
            },
        },
        "tags": {
            "type": "array",
            "title": "标签",
            "items": {"type": "string", "enum": ["water", "energy", "waste"]},
        },
        "notes": {"type": "array", "title": "备注", "items": {"type": "string"}},
        "code": {"type": "string", "title": "编号", "readOnly": True},
    },
}


def load(name: str) -> dict:
    return json.loads((FORMS / f"{name}.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def translations(tmp_path_factory) -> Path:
    """This area's English catalog compiled on its own, whatever the shared catalog holds."""
    folder = tmp_path_factory.mktemp("translations")
    with (ROOT / "web" / "translations" / "en" / "forms.po").open("rb") as fh:
        catalog = read_po(fh, locale="en")
    (folder / "en" / "LC_MESSAGES").mkdir(parents=True)
    with (folder / "en" / "LC_MESSAGES" / "messages.mo").open("wb") as fh:
        write_mo(fh, catalog)
    return folder


@pytest.fixture
def app(translations) -> Flask:
    app = Flask("formkit_test", template_folder=str(ROOT / "web" / "templates"))
    app.config.update(SECRET_KEY="test", BABEL_TRANSLATION_DIRECTORIES=str(translations))
    i18n.init_app(app)
    return app


@pytest.fixture
def ctx(app):
    with app.test_request_context("/"):
        yield


@pytest.fixture
def store(tmp_path) -> FileStore:
    return FileStore(tmp_path / "uploads")


def render(fields: list[formkit.Field]) -> str:
    return render_template_string('{% from "_form.html" import render_fields %}{{ render_fields(fields) }}',
                                  fields=fields)


def wrapper(html: str, path: str) -> str:
    """The HTML of the element whose data-field is ``path`` (up to the next field wrapper)."""
    start = html.index(f'data-field="{path}"')
    start = html.rindex("<", 0, start)
    following = re.search(r'<(div|fieldset) class="field', html[start + 1:])
    return html[start: start + 1 + following.start()] if following else html[start:]


def post(pairs: list[tuple[str, str]]) -> MultiDict:
    return MultiDict(pairs)


# --- rendering -----------------------------------------------------------------------------------

def test_application_form_gets_one_widget_per_kind_of_property(ctx):
    html = render(formkit.build_fields(load("application")))
    unit_type = wrapper(html, "unit_type")  # 3 options: radios
    assert 'type="radio" id="f-unit_type-0" name="unit_type" value="factory"' in unit_type
    assert "绿色工厂" in unit_type and '<span class="required"' in unit_type
    county = wrapper(html, "county_code")  # 89 options: a select with an empty first option
    assert '<select id="f-county_code" name="county_code"' in county
    assert '<option value="">请选择</option>' in county and '<option value="520302">遵义市 红花岗区</option>' in county
    year = wrapper(html, "year")
    assert 'type="number" id="f-year" name="year"' in year
    assert 'step="1"' in year and 'min="2024"' in year and 'max="2100"' in year
    assert 'step="any"' in wrapper(html, "energy_tce")
    unit_name = wrapper(html, "unit_name")
    assert '<input type="text" id="f-unit_name" name="unit_name" value="" maxlength="100"' in unit_name
    cert = wrapper(html, "energy_cert")  # a boolean: two radios with the schema's titles
    assert 'value="true"' in cert and 'value="false"' in cert and "是" in cert and "否" in cert
    report = wrapper(html, "report_file")  # a string holding sha256 references is a file field
    assert '<input type="file" id="f-report_file" name="report_file"' in report
    assert '<div class="hint" id="f-industry_code-hint">绿色工厂、绿色供应链管理企业必填' in html


def test_properties_render_in_schema_order(ctx):
    names = [f.name for f in formkit.build_fields(load("application"))]
    assert names == list(load("application")["properties"])


def test_review_form_reason_is_a_textarea_with_its_description(ctx):
    html = render(formkit.build_fields(load("review")))
    assert 'type="radio" id="f-decision-1" name="decision" value="return"' in wrapper(html, "decision")
    reason = wrapper(html, "reason")
    assert '<textarea id="f-reason" name="reason" rows="4" maxlength="2000"' in reason
    assert "退回修改、不予通过时必填" in reason


def test_annual_table_nests_objects_in_a_fieldset_with_units(ctx):
    html = render(formkit.build_fields(load("annual_table"), values={"main_emissions": {"so2_t": 1.5}}))
    group = html[html.index('data-field="main_emissions"'):]
    assert group.startswith('data-field="main_emissions" id="f-main_emissions"')
    so2 = wrapper(html, "main_emissions.so2_t")
    assert 'id="f-main_emissions-so2_t" name="main_emissions-so2_t" value="1.5"' in so2
    assert '<span class="unit">吨</span>' in so2
    assert '<span class="unit">万元</span>' in wrapper(html, "output_value")
    change = wrapper(html, "major_change")
    assert "有变更" in change and "无变更" in change


def test_date_format_gives_an_iso_date_input(ctx):
    """YYYY-MM-DD in every language (a browser's date picker shows mm/dd/yyyy under English, issue 15)."""
    html = render(formkit.build_fields(load("miit_result"), values={"miit_published_on": "2026-03-02"}))
    assert 'type="text" id="f-miit_published_on" name="miit_published_on" value="2026-03-02"' in html
    assert 'pattern="\\d{4}-\\d{2}-\\d{2}"' in html and 'placeholder="YYYY-MM-DD"' in html


@pytest.mark.parametrize("prop, kind", [
    ({"type": "string", "format": "email"}, "email"),
    ({"type": "string", "maxLength": 200}, "text"),
    ({"type": "string", "maxLength": 201}, "textarea"),
    ({"type": "string", "enum": ["a", "b", "c", "d"]}, "select"),
    ({"type": "string", "enum": ["a", "b"]}, "radio"),
    ({"type": "boolean"}, "radio"),
    ({"type": ["string", "null"]}, "text"),
    ({"type": "string", "x-widget": "textarea"}, "textarea"),
    ({"type": "string", "x-widget": "file"}, "file"),
    ({"type": "string", "x-widget": "hidden"}, "readonly"),
    ({"type": "string", "readOnly": True}, "readonly"),
    ({"type": "array", "items": {"type": "string", "enum": ["a"]}}, "checkboxes"),
    ({"type": "array", "items": {"type": "object", "properties": {}}}, "array"),
    ({"type": "object", "properties": {}}, "object"),
])
def test_widget_follows_the_schema(prop, kind):
    assert formkit.widget_kind(prop, formkit.hints_for(prop, None, "x")) == kind


def test_ui_hints_override_inline_hints(ctx):
    ui = {
        "x-order": ["reason", "decision"],
        "decision": {"x-widget": "select"},
        "reason": {"x-placeholder": "请写明理由", "x-unit": "字"},
        "opinion": {"x-widget": "hidden"},
    }
    fields = formkit.build_fields(load("review"), ui, {"opinion": "同意"})
    assert [f.name for f in fields] == ["reason", "decision", "opinion", "flag_acks"]  # flag_acks: docs/eligibility.md
    html = render(fields)
    assert '<select id="f-decision" name="decision"' in html
    assert 'placeholder="请写明理由"' in wrapper(html, "reason") and '<span class="unit">字</span>' in html
    opinion = wrapper(html, "opinion")
    assert '<output id="f-opinion" name="opinion" class="readonly">同意</output>' in opinion
    assert "<textarea" not in opinion


def test_required_select_with_a_default_has_no_empty_option(ctx):
    schema = {"type": "object", "required": ["level"], "properties": {
        "level": {"type": "string", "default": "b", "enum": ["a", "b", "c", "d"]}}}
    html = render(formkit.build_fields(schema))
    assert "请选择" not in html and '<option value="b" selected>b</option>' in html


def test_file_field_shows_its_upload_and_keeps_it_in_a_hidden_input(ctx):
    sha = "ab" * 32
    fields = formkit.build_fields({"type": "object", "properties": {
        "scan": {"type": "string", "title": "扫描件", "x-widget": "file", "x-accept": [".pdf"],
                 "x-max-bytes": 5 * 1024 * 1024}}}, values={"scan": f"sha256:{sha}"},
        filenames={sha: "报告.pdf"}, file_url=lambda s: f"/files/{s}")
    html = render(fields)
    assert '<a href="/files/' + sha + '">报告.pdf</a>' in html
    assert f'<input type="hidden" id="f-scan-current" name="scan" value="sha256:{sha}">' in html
    assert 'name="scan--filename" value="报告.pdf"' in html
    assert '<input type="file" id="f-scan" name="scan" accept=".pdf"' in html
    assert "格式 .pdf，不超过 5 MiB" in html


def test_error_shows_beside_its_field_and_input_is_kept(ctx):
    schema = load("review")
    form = post([("csrf_token", "t"), ("decision", "return"), ("reason", "  "), ("opinion", "材料不全")])
    submission = formkit.parse_submission(schema, None, form)
    errors = formkit.validation_errors(schema, submission, form_name="review")
    assert set(errors) == {"reason"}
    html = render(formkit.build_fields(schema, None, submission.values, errors))
    reason = wrapper(html, "reason")
    assert reason.startswith('<div class="field textarea invalid" data-field="reason">')
    assert '<div class="error" id="f-reason-error" role="alert">请填写理由</div>' in reason
    assert 'aria-invalid="true"' in reason
    assert 'value="return" checked' in wrapper(html, "decision")
    assert ">\n材料不全</textarea>" in wrapper(html, "opinion")
    assert "invalid" not in wrapper(html, "opinion")


def test_text_that_is_not_a_number_is_an_error_and_stays_visible(ctx):
    schema = load("annual_table")
    submission = formkit.parse_submission(schema, None, post([("energy_tce", "三千"), ("water_m3", "12")]))
    assert submission.errors == {"energy_tce": "请输入数字"}
    assert "energy_tce" not in submission.data and submission.values["energy_tce"] == "三千"
    errors = formkit.validation_errors(schema, submission)
    assert errors["energy_tce"] == "请输入数字"  # not jsonschema's "required"
    assert errors["main_emissions.so2_t"].startswith("请填写")
    html = render(formkit.build_fields(schema, None, submission.values, errors))
    energy = wrapper(html, "energy_tce")
    assert 'type="text" id="f-energy_tce" name="energy_tce" value="三千"' in energy and "请输入数字" in energy
    assert 'value="12"' in wrapper(html, "water_m3")


def test_english_labels_options_units_and_messages(app):
    with app.test_request_context("/?lang=en"):
        html = render(formkit.build_fields(load("application")))
        assert "Unit type" in html and "Green factory" in html
        assert '<option value="">Please choose</option>' in wrapper(html, "county_code")
        assert "Yes" in wrapper(html, "energy_cert")
        assert '<span class="unit">tce</span>' in render(formkit.build_fields(load("annual_table")))
        submission = formkit.parse_submission(load("annual_table"), None, post([("energy_tce", "x")]))
        assert submission.errors == {"energy_tce": "Please enter a number"}


def test_unplaced_errors_are_the_ones_no_field_shows(ctx):
    fields = formkit.build_fields(load("annual_table"))
    errors = {"data": "bad", "main_emissions.so2_t": "x", "nothing": "y"}
    assert formkit.unplaced_errors(fields, errors) == {"data": "bad", "nothing": "y"}


# --- parsing -------------------------------------------------------------------------------------

def test_parsing_types_values_and_omits_empty_inputs(ctx):
    form = post([
        ("csrf_token", "abc"), ("unit_type", "factory"), ("target_level", "province"), ("year", "2026"),
        ("unit_name", "  遵义某某有限公司 "), ("credit_code", ""), ("county_code", "520302"),
        ("energy_tce", "3,500.5"), ("energy_cert", "false"), ("evaluation_mode", "self"),
        ("evaluator_id", ""), ("contact_name", "张三"), ("contact_phone", "   "),
    ])
    submission = formkit.parse_submission(load("application"), None, form)
    assert submission.data == {
        "unit_type": "factory", "target_level": "province", "year": 2026, "unit_name": "遵义某某有限公司",
        "county_code": "520302", "energy_tce": 3500.5, "energy_cert": False, "evaluation_mode": "self",
        "contact_name": "张三",
    }
    assert submission.errors == {} and submission.files == [] and submission.action is None


@pytest.mark.parametrize("text, expected", [("12", 12), ("12.0", 12.0), ("1,234.5", 1234.5), ("-3", -3),
                                            ("１２", 12), ("2e3", 2000.0)])
def test_numbers_parse(ctx, text, expected):
    submission = formkit.parse_submission(load("annual_table"), None, post([("co2_t", text)]))
    assert submission.data["co2_t"] == expected and submission.errors == {}


@pytest.mark.parametrize("field, text, message", [
    ("year", "2026.5", "请输入整数"), ("year", "二〇二六年", "请输入数字"), ("energy_tce", "nan", "请输入数字"),
    ("energy_tce", "inf", "请输入数字"), ("energy_tce", "1e999", "请输入数字"), ("energy_tce", "12吨", "请输入数字"),
])
def test_bad_numbers_are_field_errors(ctx, field, text, message):
    submission = formkit.parse_submission(load("application"), None, post([(field, text)]))
    assert submission.errors == {field: message}
    assert field not in submission.data and submission.values[field] == text


def test_whole_integer_written_with_a_decimal_point_is_an_int(ctx):
    assert formkit.parse_submission(load("application"), None, post([("year", "2026.0")])).data == {"year": 2026}


def test_unknown_choice_is_kept_for_jsonschema_to_refuse(ctx):
    schema = load("review")
    submission = formkit.parse_submission(schema, None, post([("decision", "approve")]))
    assert submission.data == {"decision": "approve"}
    assert "decision" in formkit.validation_errors(schema, submission)


def test_nested_object_parses_and_validates(ctx):
    schema = load("annual_table")
    pairs = [("output_value", "1000"), ("energy_tce", "350.5"), ("energy_intensity", "0.35"), ("water_m3", "12000"),
             ("main_emissions-so2_t", "1.2"), ("main_emissions-nox_t", "0.8"), ("main_emissions-particulate_t", "0"),
             ("main_emissions-cod_t", "2"), ("main_emissions-ammonia_nitrogen_t", "0.1"), ("co2_t", "900"),
             ("solid_waste_use_rate", "95"), ("renewable_share", "12.5"), ("land_output", "300"),
             ("major_change", "true"), ("change_note", "更名为某某集团\r\n第二行")]
    submission = formkit.parse_submission(schema, None, post(pairs))
    assert submission.data["main_emissions"] == {"so2_t": 1.2, "nox_t": 0.8, "particulate_t": 0, "cod_t": 2,
                                                 "ammonia_nitrogen_t": 0.1}
    assert submission.data["major_change"] is True and submission.data["change_note"] == "更名为某某集团\n第二行"
    assert set(formkit.validation_errors(schema, submission)) == {"changes"}  # 第二十八条: item by item
    pairs += [("changes-0-change_kind", "name"), ("changes-0-old_value", "某某公司"),
              ("changes-0-new_value", "某某集团"), ("changes-0-effective_date", "2026-02-20"),
              ("changes-0-new_county_code", "")]
    submission = formkit.parse_submission(schema, None, post(pairs))
    assert submission.data["changes"] == [{"change_kind": "name", "old_value": "某某公司", "new_value": "某某集团",
                                           "effective_date": "2026-02-20"}]
    assert formkit.validation_errors(schema, submission) == {}


def test_optional_nested_object_left_empty_is_omitted(ctx):
    schema = {"type": "object", "properties": {"extra": {"type": "object", "properties": {"a": {"type": "string"}}}}}
    assert formkit.parse_submission(schema, None, post([("extra-a", "")])).data == {}


def test_rows_render_existing_items_plus_one_blank_row(ctx):
    fields = formkit.build_fields(MEMBERS_SCHEMA, values={"members": [{"name": "甲", "share": 60}]})
    html = render(fields)
    assert 'class="default-submit"' in html  # Enter must not press the first "删除此项"
    assert 'name="members-0-name" value="甲"' in html and 'name="members-0-share" value="60"' in html
    assert 'name="members-1-name" value=""' in html and 'name="members-2-name"' not in html
    assert 'name="_remove" value="members-0"' in html and 'name="_remove" value="members-1"' not in html
    assert 'name="_add" value="members"' in html
    assert 'data-field="members.0.name"' in html and "第 1 项" in html


def test_rows_stop_at_max_items(ctx):
    rows = [{"name": n} for n in "甲乙丙"]
    html = render(formkit.build_fields(MEMBERS_SCHEMA, values={"members": rows}))
    assert 'name="members-2-name" value="丙"' in html and 'name="members-3-name"' not in html
    assert 'name="_add"' not in html


def test_rows_parse_drop_empty_rows_and_number_errors_use_the_data_index(ctx):
    form = post([("members-0-name", "甲"), ("members-0-share", "60"), ("members-1-name", ""), ("members-1-share", ""),
                 ("members-2-name", "乙"), ("members-2-share", "四十"), ("members-3-name", "")])
    submission = formkit.parse_submission(MEMBERS_SCHEMA, None, form)
    assert submission.data["members"] == [{"name": "甲", "share": 60}, {"name": "乙"}]
    assert submission.errors == {"members.1.share": "请输入数字"}
    assert submission.action is None
    html = render(formkit.build_fields(MEMBERS_SCHEMA, None, submission.values, submission.errors))
    share = wrapper(html, "members.1.share")
    assert 'value="四十"' in share and "请输入数字" in share and 'class="field number invalid"' in share


def test_add_row_keeps_rows_and_reports_the_action(ctx):
    form = post([("members-0-name", "甲"), ("members-1-name", ""), ("_add", "members")])
    submission = formkit.parse_submission(MEMBERS_SCHEMA, None, form)
    assert submission.action == formkit.RowAction("add", "members")
    assert submission.values["members"] == [{"name": "甲"}, {}]
    html = render(formkit.build_fields(MEMBERS_SCHEMA, None, submission.values))
    assert 'name="members-2-name" value=""' in html  # two empty rows now: the added one and the spare


def test_remove_row_drops_it_and_reports_the_action(ctx):
    form = post([("members-0-name", "甲"), ("members-1-name", "乙"), ("members-2-name", "丙"),
                 ("_remove", "members-1")])
    submission = formkit.parse_submission(MEMBERS_SCHEMA, None, form)
    assert submission.action == formkit.RowAction("remove", "members", 1)
    assert submission.values["members"] == [{"name": "甲"}, {"name": "丙"}]


def test_checkboxes_lines_and_read_only_fields(ctx):
    form = post([("tags", "water"), ("tags", "waste"), ("notes", "一\r\n\r\n 二 "), ("code", "forged"),
                 ("members-0-name", "甲")])
    submission = formkit.parse_submission(MEMBERS_SCHEMA, None, form, current={"code": "GZ-001"})
    assert submission.data["tags"] == ["water", "waste"]
    assert submission.data["notes"] == ["一", "二"]
    assert submission.data["code"] == "GZ-001"  # read-only: from the task, never from the post
    html = render(formkit.build_fields(MEMBERS_SCHEMA, None, submission.values))
    assert 'type="checkbox" id="f-tags-0"' in html and 'name="tags" value="water" checked' in html
    assert 'value="energy">' in html
    assert ">\n一\n二</textarea>" in html
    assert '<output id="f-code" name="code" class="readonly">GZ-001</output>' in html


def test_upload_becomes_a_sha256_reference_and_an_attachment_record(ctx, store):
    files = MultiDict([("report_file", FileStorage(io.BytesIO(PDF), filename="C:\\fakepath\\评价报告.pdf",
                                                   content_type="application/pdf"))])
    submission = formkit.parse_submission(load("application"), None, post([("report_file", "")]), files, store)
    (record,) = submission.files
    assert submission.data["report_file"] == f"sha256:{record.sha256}"
    assert (record.field, record.filename, record.content_type, record.size, record.new) == (
        "report_file", "评价报告.pdf", "application/pdf", len(PDF), True)
    assert not store.exists(record.sha256) and record.stored.staged.read_bytes() == PDF  # no record yet
    store.commit(record.stored)
    assert store.path_of(record.sha256).read_bytes() == PDF and not record.stored.staged.exists()


def test_resubmission_without_a_new_file_keeps_the_upload(ctx, store):
    stored = store.save(io.BytesIO(PDF), "报告.pdf")
    html = render(formkit.build_fields(load("application"), values={"report_file": stored.ref},
                                       filenames={stored.sha256: "报告.pdf"}))
    assert f'name="report_file" value="{stored.ref}"' in html and "已上传文件" in html
    form = post([("report_file", stored.ref), ("report_file--filename", "报告.pdf")])
    empty = MultiDict([("report_file", FileStorage(io.BytesIO(b""), filename=""))])  # browser: no file chosen
    submission = formkit.parse_submission(load("application"), None, form, empty, store)
    assert submission.data == {"report_file": stored.ref}
    assert submission.files == [formkit.UploadedFile("report_file", stored.sha256, "报告.pdf", "application/pdf",
                                                     len(PDF), new=False)]


def test_a_reference_to_a_file_not_in_the_store_is_dropped(ctx, store):
    form = post([("report_file", "sha256:" + "0" * 64)])
    submission = formkit.parse_submission(load("application"), None, form, MultiDict(), store)
    assert submission.data == {} and submission.files == []


def test_refused_upload_is_an_error_on_its_field(ctx, store):
    files = MultiDict([("report_file", FileStorage(io.BytesIO(b"MZ\x90\x00"), filename="报告.pdf"))])
    submission = formkit.parse_submission(load("application"), None, MultiDict(), files, store)
    assert "report_file" not in submission.data
    assert submission.errors["report_file"].startswith("文件内容与扩展名不符")


def test_hints_limit_uploads(ctx, store):
    schema = {"type": "object", "properties": {
        "photo": {"type": "string", "x-widget": "file", "x-accept": [".png"], "x-max-bytes": 10}}}
    files = MultiDict([("photo", FileStorage(io.BytesIO(PDF), filename="a.pdf"))])
    assert "不支持的文件类型" in formkit.parse_submission(schema, None, MultiDict(), files, store).errors["photo"]
    files = MultiDict([("photo", FileStorage(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 20), filename="a.png"))])
    assert "文件过大" in formkit.parse_submission(schema, None, MultiDict(), files, store).errors["photo"]


# --- read-only display ---------------------------------------------------------------------------

def test_summary_resolves_titles_and_links_files(app):
    sha = "cd" * 32
    data = {"unit_type": "park", "year": 2026, "county_code": "520302", "energy_tce": 3000.0, "energy_cert": True,
            "report_file": f"sha256:{sha}", "contact_name": "张三", "evaluator_id": None}
    with app.test_request_context("/"):
        entries = formkit.summarize(load("application"), data, file_url=lambda s: f"/files/{s}",
                                    filenames={sha: "报告.pdf"})
        assert [(e.label, e.text) for e in entries][:5] == [
            ("申报类型", "绿色工业园区"), ("申报年度", "2026"), ("所在县（市、区）", "遵义市 红花岗区"),
            ("年综合能源消费量（吨标准煤）", "3000"), ("是否已通过能源管理体系认证", "是")]
        html = render_template_string('{% from "_form.html" import render_data %}{{ render_data(entries) }}',
                                      entries=entries)
        assert f'<dd data-field="report_file"><a href="/files/{sha}">报告.pdf</a></dd>' in html
        assert "evaluator_id" not in html
    with app.test_request_context("/?lang=en"):
        entries = formkit.summarize(load("application"), data)
        assert (entries[0].label, entries[0].text) == ("Unit type", "Green industrial park")
        assert entries[-2].text == f"sha256:{sha[:12]}…" and entries[-2].url == ""


def test_summary_of_nested_objects_and_rows(ctx):
    entries = formkit.summarize(load("annual_table"), {"main_emissions": {"so2_t": 1.5}, "major_change": False})
    assert entries[0].children[0].text == "1.5" and entries[0].children[0].unit == "吨"
    assert entries[1].text == "无变更"
    rows = formkit.summarize(MEMBERS_SCHEMA, {"members": [{"name": "甲"}], "tags": ["water", "waste"]})
    assert rows[0].children[0].label == "第 1 项" and rows[0].children[0].children[0].text == "甲"
    assert rows[1].text == "water、waste"
    html = render_template_string('{% from "_form.html" import render_data %}{{ render_data(entries) }}',
                                  entries=rows)
    assert html.count("<dl") == 3
