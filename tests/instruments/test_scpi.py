"""The one grammar against IEEE 488.2 section 7's forms and the Keithley manuals' examples of
program messages (Model 6220/6221 Reference Manual section 10, "Multiple command messages",
"Command path rules"; Model 2400 User's Manual section 18, "Program messages")."""

import math

import pytest

from instruments import scpi

# (text of one data element, kind, value or word) -- IEEE 488.2 7.7
DATA = [
    ("0", "number", 0.0), ("1", "number", 1.0), ("-1", "number", -1.0),
    ("+1.5", "number", 1.5), (".5", "number", 0.5), ("5.", "number", 5.0),
    ("1E3", "number", 1e3), ("1e-3", "number", 1e-3), ("+1.5E+3", "number", 1.5e3),
    ("1.5 E 3", "number", 1.5e3), ("2.5 e -1", "number", 0.25),  # 7.7.2.2: white space
    ("#HFF", "nondecimal", 255.0), ("#hff", "nondecimal", 255.0),  # 7.7.4
    ("#Q17", "nondecimal", 15.0), ("#B1010", "nondecimal", 10.0),
    ("'abc'", "string", "abc"), ('"a""b"', "string", 'a"b'), ("'it''s'", "string", "it's"),
    ('"a;b,c"', "string", "a;b,c"), ("''", "string", ""),  # 7.7.5
    ("MAX", "char", "MAX"), ("minimum", "char", "MINIMUM"), ("On", "char", "ON"),  # 7.7.1
    ("#15hello", "block", "hello"), ("#0rest of it", "block", "rest of it"),  # 7.7.6
    ("(@1!3)", "expression", "@1!3"), ("(@1!5:1!7,1!9)", "expression", "@1!5:1!7,1!9"),
]


@pytest.mark.parametrize(("text", "kind", "meaning"), DATA, ids=[d[0] for d in DATA])
def test_data_elements(text, kind, meaning):
    data = scpi.datum(text)
    assert data.kind == kind and data.text == text
    if kind in ("number", "nondecimal"):
        assert math.isclose(data.value, meaning, rel_tol=1e-12)
    else:
        assert data.word == meaning


# (number with suffix, unit the command takes, every reading) -- 7.7.3, Table 7-1
SUFFIXES = [
    ("50mA", "A", (0.05, 5e7)), ("50MA", "A", (0.05, 5e7)),  # milli-ampere, or mega
    ("10uA", "A", (1e-5,)), ("10 UA", "A", (1e-5,)), ("2 ms", "S", (2e-3,)),
    ("1KHZ", "HZ", (1e3,)), ("1MHZ", "HZ", (1e6,)),  # MHZ: megahertz only (Table 7-1 note)
    ("3u", "A", (3e-6,)), ("5", "A", (5.0,)),
]


@pytest.mark.parametrize(("text", "unit", "readings"), SUFFIXES, ids=[s[0] for s in SUFFIXES])
def test_suffixes_are_read_every_way_they_can_be(text, unit, readings):
    values = scpi.numeric(scpi.datum(text), unit).values
    assert len(values) == len(readings)
    assert all(math.isclose(v, r, rel_tol=1e-12) for v, r in zip(values, sorted(
        readings, key=abs), strict=True))


def test_a_suffix_naming_another_unit_is_invalid():
    with pytest.raises(scpi.ScpiSyntaxError) as refused:
        scpi.numeric(scpi.datum("5V"), "A")
    assert refused.value.code == -131
    assert "mega" in scpi.suffix_reading(scpi.datum("50MA"), "A")


@pytest.mark.parametrize(("text", "on"), [("ON", True), ("OFF", False), ("1", True),
                                          ("0", False), ("0.4", False), ("0.5", True),
                                          ("-0.5", True), ("-0.4", False), ("2", True),
                                          ("#H0", False), ("#B1", True)])
def test_booleans_round_numbers_halves_away_from_zero(text, on):
    assert scpi.boolean(scpi.datum(text)) is on


# (program message, the units' resolved headers) -- the path rule, the manuals' examples
PATHS = [
    (":stat:oper:enab 1; enab?", [":STAT:OPER:ENAB", ":STAT:OPER:ENAB"]),  # 6221 sec. 10
    (":stat:oper; :stat:oper:enab 1", [":STAT:OPER", ":STAT:OPER:ENAB"]),
    ("stat:pres", [":STAT:PRES"]),  # the leading colon is optional
    (":SOUR:CURR:LEV 1;COMP 2;:OUTP ON;*CLS;STAT 0",
     [":SOUR:CURR:LEV", ":SOUR:CURR:COMP", ":OUTP", "*CLS", ":STAT"]),
    ("*RST;*CLS", ["*RST", "*CLS"]),
    (":SOUR:CURR 1\n:LEV 2", [":SOUR:CURR", ":LEV"]),  # a new message starts at the root
    (":SOUR:CURR 1;", [":SOUR:CURR"]),  # a trailing ";" before the terminator
    ("  :OUTP\tON  ", [":OUTP"]),
]


@pytest.mark.parametrize(("message", "headers"), PATHS, ids=[p[0] for p in PATHS])
def test_the_path_rule(message, headers):
    assert [u.header for u in scpi.units(message)] == headers


# (program message, the SCPI error number a parser gives) -- SCPI 1999 Vol. 2 21.8.9
REFUSED = [
    ("*CLS )", -101), ("ABOR (", -102), (":SOUR:CURR 1)", -121), ("A;;B", -102),
    (";A", -102), (":SOUR:CURR 1 2", -103), (":SOUR:CURR 'open", -151), ("SOUR::CURR", -110),
    ("*", -110), ("SOUR:", -110), (":SOUR:CURR #H", -121), (":SOUR:CURR 1.2.3", -121),
    (":SOUR:CURR 1E999", -123), (":SOUR:CURR 1,", -109), (":SOUR:CURR(1)", -111),
    (":SOUR:CURR #3ab", -161), (":ROUT:CLOS 1!3", -121),
]


@pytest.mark.parametrize(("message", "code"), REFUSED, ids=[r[0] for r in REFUSED])
def test_what_does_not_parse_is_refused_with_its_number(message, code):
    with pytest.raises(scpi.ScpiSyntaxError) as refused:
        list(scpi.units(message))
    assert refused.value.code == code


def test_units_before_an_error_are_read_first():
    """An instrument executes the units before the one in error (IEEE 488.2 6.1.6)."""
    seen = []
    with pytest.raises(scpi.ScpiSyntaxError):
        for unit in scpi.units(":SOUR:CURR 1;:OUTP ON;*CLS )"):
            seen.append(unit.header)
    assert seen == [":SOUR:CURR", ":OUTP"]


@pytest.mark.parametrize(("spec", "spelled", "matches"), [
    ("[:SOURce[1]]:CURRent[:LEVel][:IMMediate][:AMPLitude]", ("CURR",), True),
    ("[:SOURce[1]]:CURRent[:LEVel][:IMMediate][:AMPLitude]",
     ("SOURCE1", "CURRENT", "LEVEL", "IMMEDIATE", "AMPLITUDE"), True),
    ("[:SOURce[1]]:CURRent[:LEVel]", ("SOURC", "CURR"), False),  # short or long, nothing else
    ("[:SOURce[1]]:CURRent[:LEVel]", ("SOUR2", "CURR"), False),
    (":CALCulate2:FORMat", ("CALC2", "FORM"), True), (":CALCulate2:FORMat", ("CALC", "FORM"),
                                                       False),
    ("*RST", ("*RST",), True),
])
def test_headers_in_the_manuals_form(spec, spelled, matches):
    assert scpi.header_matches(spec, spelled) is matches
