"""Time variables, parameter lookup, result selectors (spec §3.15, §3.16)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wedata.scheduling.datatimes import format_wall
from wedata.scheduling.parameters import (
    ParameterCycleError,
    ParameterError,
    RenderContext,
    ResultSelectorError,
    UnknownVariableError,
    evaluate_time_expression,
    is_result_selector,
    output_parameter_value,
    parse_text_result,
    referenced_names,
    render,
    resolve_parameters,
    select_result,
)
from wedata.scheduling.timezones import parse_zone, wall_to_utc


def W(text: str) -> datetime:
    return datetime.fromisoformat(text)


def ctx(data: str = "2021-07-10 08:00:00", **kw: object) -> RenderContext:
    return RenderContext(W(data), **kw)  # type: ignore[arg-type]


# WeData's documented examples, base 2021-07-10 08:00:00
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("dt=${yyyyMMdd-1M}", "dt=20210610"),
        ("dt=${yyyyMMdd-1d}", "dt=20210709"),
        ("time=${yyyyMMddHHmmss-3h}", "time=20210710050000"),
        ("ti=${yyyyMMddHHmmss-25m}", "ti=20210710073500"),
        ("${yyyyMMdd+1y}", "20220710"),
        ("${yyyyMMdd-2w}", "20210626"),
        ("${yyyy-MM-dd HH:mm:ss+1H}", "2021-07-10 09:00:00"),
        ("${yyyy-MM-dd}", "2021-07-10"),
        ("${HH:mm:ss}", "08:00:00"),
        ("${yy}/${MM}/${dd}", "21/07/10"),
        ("${yyyyMMdd-1}", "20210709"),  # a bare number means days
        ("${yyyy-MM-dd-1d}", "2021-07-09"),
        ("${yyyyMMdd-1M-1d}", "20210609"),
        ("${yyyyMMddHHmm+90m}", "202107100930"),
        ("no variables at all", "no variables at all"),
        ("${ yyyyMMdd }|$( HH )", "20210710|08"),
    ],
)
def test_documented_time_formats(template: str, expected: str) -> None:
    assert render(template, ctx()) == expected


def test_timestamps_are_epoch_of_data_time_in_task_zone() -> None:
    # WeData's example: base 2021-07-10 08:00:00 (UTC+8) gives ${timestamp}=1625875200.
    assert render("${timestamp}", ctx()) == "1625875200"
    assert render("${timestamp_ms}", ctx("2023-10-29 00:00:00")) == "1698508800000"
    assert render("${timestamp+1d}", ctx()) == str(1625875200 + 86400)
    assert render("${timestamp-60}", ctx()) == str(1625875200 - 60)
    assert render("${timestamp_ms+5}", ctx()) == "1625875200005"
    assert render("${timestamp}", ctx(zone="UTC+0")) == str(1625875200 + 8 * 3600)
    assert render("${timestamp}", ctx(zone="Asia/Shanghai")) == "1625875200"


@pytest.mark.parametrize(
    ("base", "suffix", "expected"),
    [
        ("2025-02-15", "TE", "20250220"),
        ("2025-02-05", "TE", "20250210"),
        ("2024-02-25", "TE", "20240229"),
        ("2025-02-15", "TS", "20250211"),
        ("2025-02-25", "TS", "20250221"),
        ("2025-02-15", "ME", "20250228"),
        ("2024-02-15", "ME", "20240229"),
        ("2025-02-15", "MS", "20250201"),
        ("2025-02-15", "QE", "20250331"),
        ("2025-11-15", "QE", "20251231"),
        ("2025-08-15", "QS", "20250701"),
        ("2025-02-15", "HYE", "20250630"),
        ("2025-08-15", "HYE", "20251231"),
        ("2025-08-15", "HYS", "20250701"),
        ("2025-02-15", "YE", "20251231"),
        ("2025-02-15", "YS", "20250101"),
        ("2025-03-15", "PME", "20250228"),
        ("2025-01-15", "PME", "20241231"),
        ("2025-02-15", "PYE", "20241231"),
    ],
)
def test_date_shortcuts(base: str, suffix: str, expected: str) -> None:
    assert render("${yyyyMMdd+" + suffix + "}", ctx(base)) == expected


def test_terms_apply_left_to_right_and_clamp_months() -> None:
    assert render("${yyyyMMdd-1M}", ctx("2025-03-31")) == "20250228"
    assert render("${yyyyMMdd-1M+ME}", ctx("2025-03-15")) == "20250228"
    assert render("${yyyyMMdd+ME-1M}", ctx("2025-03-15")) == "20250228"
    assert render("${yyyyMMdd+MS-1d}", ctx("2025-03-15")) == "20250228"
    assert render("${yyyyMMdd-1y}", ctx("2024-02-29")) == "20230228"
    assert render("${yyyy-MM-dd HH:mm:ss+ME}", ctx("2025-03-15 08:30:00")) == "2025-03-31 08:30:00"


def test_zone_qualified() -> None:
    c = ctx("2025-03-10 05:00:00")  # UTC+8 by default
    assert render("${UTC+0_yyyyMMddHH}", c) == "2025030921"
    assert render("${UTC-3_HH:mm:ss}", c) == "18:00:00"
    assert render("${UTC+5:30_HHmm}", c) == "0230"
    assert render("${UTC+0_yyyyMMdd-1d}", c) == "20250308"
    assert render("${UTC+0_timestamp}", c) == render("${timestamp}", c)


def test_planned_time_forms_and_shell_substitution() -> None:
    c = ctx("2025-03-10 00:00:00", scheduled_time=W("2025-03-11 02:30:00"))
    assert render("$(yyyyMMddHHmm)", c) == "202503110230"
    assert render("$(yyyyMMdd-1d) ${yyyyMMdd}", c) == "20250310 20250310"
    assert render("$(timestamp)", c) == str(
        int(wall_to_utc(W("2025-03-11 02:30"), parse_zone("UTC+8")).timestamp())
    )
    # not time expressions: shell command substitution is left alone
    assert render("n=$(date +%s); ls $(pwd)", c) == "n=$(date +%s); ls $(pwd)"
    # without a scheduled time the planned time is the data time
    assert render("$(HH:mm)", ctx("2025-03-10 07:05:00")) == "07:05"


def test_parameters_by_name_with_precedence() -> None:
    c = ctx(
        "2025-03-10 00:00:00",
        task_params={"dt": "${yyyyMMdd-1d}", "who": "task", "both": "${dt}_${region}"},
        workflow_params={"who": "workflow", "region": "gz", "wf_only": "w"},
        project_params={"who": "project", "region": "bj", "env": "prod"},
    )
    assert (
        render("${dt} ${who} ${region} ${env} ${wf_only} ${both}", c) == "20250309 task gz prod w 20250309_gz"
    )
    overridden = RenderContext(
        W("2025-03-10"), task_params={"who": "task"}, overrides={"who": "${yyyy}"}, inputs={"who": "input"}
    )
    assert render("${who}", overridden) == "2025"
    assert render("${ who }", overridden) == "2025"


def test_input_parameters_are_substituted_verbatim() -> None:
    c = RenderContext(
        W("2025-03-10"), inputs={"mark_id": "123 ${not_a_template}"}, task_params={"x": "${mark_id}!"}
    )
    assert render("${mark_id}", c) == "123 ${not_a_template}"
    assert render("${x}", c) == "123 ${not_a_template}!"


def test_a_parameter_named_like_a_format_wins() -> None:
    assert render("${yyyy}", ctx(task_params={"yyyy": "fixed"})) == "fixed"


def test_unknown_variables_are_all_named() -> None:
    c = ctx(task_params={"a": "${missing_in_value}"})
    with pytest.raises(UnknownVariableError) as info:
        render("${HOME} ${a} ${yyyyMMddX} ${HOME} ${}", c)
    assert info.value.names == ("HOME", "missing_in_value", "yyyyMMddX", "")
    assert "${HOME}" in str(info.value)
    assert isinstance(info.value, ValueError)
    lenient = RenderContext(W("2025-03-10"), strict=False)
    assert render("echo ${HOME} ${yyyy}", lenient) == "echo ${HOME} 2025"


def test_reference_cycles() -> None:
    c = ctx(task_params={"a": "${b}", "b": "x${c}", "c": "${a}"})
    with pytest.raises(ParameterCycleError) as info:
        render("${a}", c)
    assert info.value.chain == ("a", "b", "c", "a")
    with pytest.raises(ParameterCycleError):
        render("${self}", ctx(task_params={"self": "${self}"}))


def test_deep_but_acyclic_chains_render_once() -> None:
    params = {f"p{i}": "${p" + str(i + 1) + "}${p" + str(i + 1) + "}" for i in range(30)}
    params["p30"] = "x"
    assert len(render("${p20}", ctx(task_params=params))) == 2**10


# -- result selectors -------------------------------------------------------------------------------

ROWS = [["123", "234", "1234"], ["a", "b", "c"]]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("$[0]", "123"),
        ("$[1]", "a"),
        ("$[0][2]", "1234"),
        ("$[1][1]", "b"),
        ("$[0][*]", "123,234,1234"),
        ("$[*][1]", "234,b"),
        ("$[ 1 ][ 0 ]", "a"),
    ],
)
def test_select_result(selector: str, expected: str) -> None:
    assert is_result_selector(selector)
    assert select_result(selector, ROWS) == expected


def test_select_everything_is_a_json_array() -> None:
    assert json.loads(select_result("$[*][*]", ROWS)) == ROWS
    assert select_result("$[*][*]", []) == "[]"
    assert select_result("$[*][0]", []) == ""


@pytest.mark.parametrize("selector", ["$[2][0]", "$[0][3]", "$[2][*]", "$[*][3]", "$[5]"])
def test_select_outside_the_result(selector: str) -> None:
    with pytest.raises(ResultSelectorError):
        select_result(selector, ROWS)


def test_select_rejects_non_selectors() -> None:
    assert not is_result_selector("$[a]")
    with pytest.raises(ResultSelectorError):
        select_result("${x}", ROWS)


def test_output_parameter_value() -> None:
    assert output_parameter_value("$[0]", ROWS) == "123"
    assert output_parameter_value("constant", None) == "constant"
    assert output_parameter_value("d=${yyyyMMdd}", None, ctx()) == "d=20210710"
    with pytest.raises(ResultSelectorError, match="needs a result"):
        output_parameter_value("$[0][0]", None)


def test_selectors_in_templates_only_with_a_result() -> None:
    assert render("echo $[1+2]", ctx()) == "echo $[1+2]"
    with_result = RenderContext(W("2025-03-10"), result=ROWS)
    assert render("id=$[0][1] all=$[*][0] bash=$[1+2]", with_result) == "id=234 all=123,a bash=$[1+2]"


def test_parse_text_result() -> None:
    out = "log line\n\n123,234, 1234\n"
    assert parse_text_result(out) == [["123", "234", "1234"]]
    assert parse_text_result("a\tb c\nd\te\n", last_line_only=False) == [["a", "b c"], ["d", "e"]]
    assert parse_text_result("") == []


# -- helpers ---------------------------------------------------------------------------------------


def test_evaluate_time_expression_and_referenced_names() -> None:
    assert evaluate_time_expression("yyyyMMdd+1d", W("2025-12-31")) == "20260101"
    assert evaluate_time_expression("bizdate", W("2025-12-31")) is None
    assert evaluate_time_expression("yyyyy", W("2025-12-31")) is None
    assert referenced_names("${a} ${yyyyMMdd} ${b} ${a} $(x)") == ["a", "b"]


def test_resolve_parameters() -> None:
    c = ctx(
        "2025-03-10",
        task_params={"dt": "${yyyyMMdd}"},
        workflow_params={"dt": "wf", "w": "${dt}-w"},
        project_params={"p": "1"},
        inputs={"i": "v"},
    )
    assert resolve_parameters(c) == {"p": "1", "dt": "20250310", "w": "20250310-w", "i": "v"}
    with pytest.raises(UnknownVariableError):
        resolve_parameters(ctx(task_params={"x": "${nope}"}))


def test_out_of_range_time_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError):
        render("${yyyyMMdd+99999999y}", ctx())


@given(
    t=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    days=st.integers(-5000, 5000),
    hours=st.integers(-500, 500),
)
def test_formats_match_datetime_arithmetic(t: datetime, days: int, hours: int) -> None:
    c = RenderContext(t)
    assert render("${yyyy-MM-dd HH:mm:ss}", c) == format_wall(t)
    sign = "+" if days >= 0 else "-"
    assert render("${yyyyMMdd" + f"{sign}{abs(days)}d" + "}", c) == (t + timedelta(days=days)).strftime(
        "%Y%m%d"
    )
    hsign = "+" if hours >= 0 else "-"
    expected = format_wall(t + timedelta(hours=hours))
    assert render("${yyyy-MM-dd HH:mm:ss" + f"{hsign}{abs(hours)}H" + "}", c) == expected


# -- guard rails (issue 16): the escape, and errors that name what is wrong and where -------------


def test_the_escape_renders_a_literal_dollar_brace_paren_and_bracket() -> None:
    c = ctx(task_params={"a": "A"})
    assert render("$${a} $${nosuch} $$(yyyy) $$[0][1] ${a}", c) == "${a} ${nosuch} $(yyyy) $[0][1] A"
    assert render("echo $$ $$$$ $${a}", c) == "echo $$ $$$$ ${a}"  # $$ elsewhere is the shell's pid
    assert render("$$${a}", c) == "$${a}"  # a lone "$", then the escape "$${" of the last two
    assert render("x=${a}", ctx(task_params={"a": "$${b}"})) == "x=${b}"  # also inside values


def test_unknown_names_and_malformed_time_expressions_are_named_with_their_lines() -> None:
    code = "echo ${yyyyMMd}\necho ok\necho ${nosuchparam} ${a}\necho ${nosuchparam}"
    with pytest.raises(UnknownVariableError) as info:
        render(code, ctx(task_params={"a": "${bad}"}))
    assert str(info.value) == (
        "malformed time expression ${yyyyMMd} (line 1); unknown parameter ${nosuchparam} (lines 3, 4); "
        "unknown parameter ${bad} (in the value of parameter a)"
    )
    assert info.value.names == ("yyyyMMd", "nosuchparam", "bad")


@pytest.mark.parametrize("text", ["yyyyMMd", "YYYYMMDD", "yyyyMMdd-1x", "UTC+8_yyyyMMd", "timestamp_s", "HH:mi"])
def test_what_reads_as_a_malformed_time_expression(text: str) -> None:
    with pytest.raises(UnknownVariableError, match="malformed time expression"):
        render("${" + text + "}", ctx())


@pytest.mark.parametrize("text", ["nosuchparam", "mm_count", "date", "sms"])
def test_what_reads_as_an_unknown_parameter(text: str) -> None:
    with pytest.raises(UnknownVariableError, match=r"^unknown parameter"):
        render("${" + text + "}", ctx())


def test_set_value_lines_and_foreign_names_are_left_alone_even_when_strict() -> None:
    c = ctx(foreign=lambda inner: inner == "HOME")
    assert render("${setValue(k=${yyyy})} ${setValue(j=1)} ${HOME}", c) == "${setValue(k=2021)} ${setValue(j=1)} ${HOME}"
    with pytest.raises(UnknownVariableError):
        render("${PATH}", c)
