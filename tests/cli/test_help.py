"""Every option of every `getheory` command has a help text that states its default, and the
commands agree on the options they share (issue 29: the help a new user reads)."""

import argparse

import pytest

from getheory.activations import ACTIVATIONS
from getheory.cli._main import build_parser

#: actions whose default is implicit in their kind: a switch is off unless given
_SWITCHES = (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._StoreConstAction,
             argparse._CountAction, argparse._HelpAction, argparse._VersionAction)


def _commands():
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return parser, dict(sub.choices)


def _options(parser):
    return [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._SubParsersAction)]


def test_every_option_of_every_command_has_help_that_states_its_default():
    top, commands = _commands()
    missing = []
    for name, parser in [("getheory", top), *commands.items()]:
        for a in _options(parser):
            flag = f"{name} {a.option_strings[-1]}"
            if not a.help or a.help == argparse.SUPPRESS:
                missing.append(f"{flag}: no help")
            elif not isinstance(a, _SWITCHES) and not a.required and "default" not in a.help.lower():
                missing.append(f"{flag}: its help states no default ({a.help!r})")
    assert not missing, "\n".join(missing)


def test_check_D_defaults_to_half_of_N_as_in_dynamics_and_ridge():
    from getheory.cli.check import _generator

    _, commands = _commands()
    for name in ("check", "dynamics", "ridge"):
        (d,) = [a for a in _options(commands[name]) if "--D" in a.option_strings]
        assert "default N/2" in d.help, f"{name} --D: {d.help}"
    args = build_parser().parse_args(["check", "--N", "64"])
    assert _generator(args)[1] == 32
    assert _generator(build_parser().parse_args(["check", "--N", "65"]))[1] == 32
    assert _generator(build_parser().parse_args(["check", "--N", "64", "--D", "7"]))[1] == 7


@pytest.mark.parametrize("command", ["check", "dynamics", "ridge"])
def test_activation_is_one_choice_list_in_every_command(command, capsys):
    _, commands = _commands()
    (act,) = [a for a in _options(commands[command]) if "--activation" in a.option_strings]
    assert set(ACTIVATIONS) <= set(act.choices) and set(act.choices) - set(ACTIVATIONS) <= {"identity"}
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([command, "--activation", "sgin"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'sgin'" in err and all(a in err for a in ACTIVATIONS)
