"""Definition validation: one rule per test (a valid machine mutated one way gives exactly the
expected pointers), the AWS-recorded corpus (every accepted definition stays valid, every
validation case gets AWS's verdict), and fuzzing (problems, never exceptions)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import Problem
from engine.validation import validate_definition

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "cases"
ACCEPTED = ("SUCCEEDED", "FAILED", "TIMED_OUT")
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:charge"


def jsonpath_machine() -> dict[str, Any]:
    """A valid JSONPath machine using every state type (Message is stepstream's extension)."""
    return {
        "Comment": "every state type",
        "StartAt": "Start",
        "States": {
            "Start": {
                "Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.p", "Assign": {"count": 1}, "Next": "Charge"
            },
            "Charge": {
                "Type": "Task",
                "Resource": LAMBDA,
                "Parameters": {"amount.$": "$.p.n", "count.$": "$count", "fixed": "$nobody"},
                "TimeoutSeconds": 30,
                "HeartbeatSeconds": 10,
                "Retry": [
                    {"ErrorEquals": ["Busy"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2.0,
                     "MaxDelaySeconds": 5, "JitterStrategy": "FULL"},
                    {"ErrorEquals": ["States.ALL"]},
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                "Next": "Route",
            },
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.p.n", "NumericEquals": 1, "Next": "Pause"}],
                "Default": "Fan",
            },
            "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Fan"},
            "Fan": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": True}}}],
                "ResultPath": "$.fan",
                "Next": "Each",
            },
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Item",
                    "States": {"Item": {"Type": "Pass", "End": True}},
                },
                "ResultPath": "$.each",
                "Next": "Await",
            },
            "Await": {
                "Type": "Message",
                "CorrelationKey": "order",
                "CorrelationValuePath": "$.p.n",
                "TimeoutSeconds": 60,
                "TimeoutPath": "TimedOut",
                "ResultPath": "$.message",
                "Next": "Done",
            },
            "TimedOut": {"Type": "Fail", "Error": "Timeout", "Cause": "no message"},
            "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
            "Done": {"Type": "Succeed"},
        },
    }


def jsonata_machine() -> dict[str, Any]:
    """A valid JSONata machine."""
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "Start",
        "States": {
            "Start": {"Type": "Pass", "Output": {"n": "{% $states.input.n %}"}, "Assign": {"total": 2}, "Next": "Call"},
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"Payload": "{% $states.input %}"},
                "TimeoutSeconds": "{% $total %}",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "Oops"}],
                "Next": "Check",
            },
            "Check": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $total > 1 %}", "Assign": {"seen": True}, "Next": "Later"}],
                "Default": "Each",
            },
            "Later": {"Type": "Wait", "Timestamp": "{% $states.input.at %}", "Next": "Each"},
            "Each": {
                "Type": "Map",
                "Items": "{% $states.input.items %}",
                "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": True}}},
                "Next": "Await",
            },
            "Await": {"Type": "Message", "CorrelationKey": "order", "CorrelationValue": "{% $total %}", "End": True},
            "Oops": {"Type": "Fail", "Error": "{% $states.input.Error %}"},
        },
    }


def tiny(**top: Any) -> dict[str, Any]:
    return {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}, **top}


# --- JSON pointer editing of test machines ----------------------------------------------------


def _tokens(pointer: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def _parent(document: Any, pointer: str) -> tuple[Any, Any]:
    *path, last = _tokens(pointer)
    node = document
    for token in path:
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node, int(last) if isinstance(node, list) else last


def edit(document: dict[str, Any], *operations: tuple[Any, ...]) -> dict[str, Any]:
    """A copy of ``document`` with ("set", pointer, value) / ("del", pointer) applied."""
    result = copy.deepcopy(document)
    for operation in operations:
        parent, key = _parent(result, operation[1])
        if operation[0] == "set":
            parent[key] = operation[2]
        else:
            del parent[key]
    return result


def pointers(definition: Any, **options: Any) -> set[str]:
    return {problem.pointer for problem in validate_definition(definition, **options)}


JP, JA = jsonpath_machine, jsonata_machine
S = "/States"
R0 = f"{S}/Charge/Retry/0"
LONG = "L" * 81
TO_START = {"Type": "Pass", "Next": "Start"}
SUCCEED = {"Type": "Succeed"}
ITERATOR = {"StartAt": "I", "States": {"I": SUCCEED}}
CATCH_ALL = {"ErrorEquals": ["States.ALL"], "Next": "Failed"}
NO_SECONDS = ("del", f"{S}/Pause/Seconds")

# (id, base machine, edits, expected pointers); "~prefix" entries stand for "some pointer under
# this one" where another module's checker (payload templates, Choice rules) picks the pointer.
MUTATIONS: list[tuple[str, Any, tuple[tuple[Any, ...], ...], set[str]]] = [
    # top level
    ("missing StartAt", JP, (("del", "/StartAt"),), {""}),
    ("missing States", JP, (("del", "/States"),), {""}),
    ("StartAt names nothing", JP, (("set", "/StartAt", "Nope"),), {"/StartAt"}),
    ("StartAt not a string", JP, (("set", "/StartAt", 3),), {"/StartAt"}),
    ("States empty", JP, (("set", "/States", {}),), {"/States"}),
    ("States not an object", JP, (("set", "/States", []),), {"/States"}),
    ("unknown top-level field", JP, (("set", "/Foo", 1),), {"/Foo"}),
    ("top TimeoutSeconds zero", JP, (("set", "/TimeoutSeconds", 0),), {"/TimeoutSeconds"}),
    ("top TimeoutSeconds boolean", JP, (("set", "/TimeoutSeconds", True),), {"/TimeoutSeconds"}),
    ("top TimeoutSeconds fine", JP, (("set", "/TimeoutSeconds", 3600),), set()),
    ("bad QueryLanguage", JP, (("set", "/QueryLanguage", "XPath"),), {"/QueryLanguage"}),
    ("Version not a string", JP, (("set", "/Version", 1.0),), {"/Version"}),
    ("Comment not a string", JP, (("set", "/Comment", []),), {"/Comment"}),
    # states and types
    ("unknown Type", JP, (("set", f"{S}/Done/Type", "Nope"),), {f"{S}/Done/Type"}),
    ("missing Type", JP, (("del", f"{S}/Done/Type"),), {f"{S}/Done"}),
    ("state not an object", JP, (("set", f"{S}/Done", 5),), {f"{S}/Done"}),
    ("unknown field", JP, (("set", f"{S}/Start/Bogus", 1),), {f"{S}/Start/Bogus"}),
    ("JSONata field in a JSONPath state", JP, (("set", f"{S}/Start/Output", {}),), {f"{S}/Start/Output"}),
    ("JSONPath field in a JSONata state", JA, (("set", f"{S}/Start/Parameters", {}),), {f"{S}/Start/Parameters"}),
    ("downgrade to JSONPath", JA, (("set", f"{S}/Start/QueryLanguage", "JSONPath"),), {f"{S}/Start/QueryLanguage"}),
    ("upgrade to JSONata is fine", JP, (("set", f"{S}/Done/QueryLanguage", "JSONata"),), set()),
    ("bad state QueryLanguage", JP, (("set", f"{S}/Done/QueryLanguage", "jsonata"),), {f"{S}/Done/QueryLanguage"}),
    ("Result in a JSONata Pass", JA, (("set", f"{S}/Start/Result", 1),), {f"{S}/Start/Result"}),
    # transitions
    ("Next and End", JP, (("set", f"{S}/Start/End", True),), {f"{S}/Start/End"}),
    ("neither Next nor End", JP, (("del", f"{S}/Pause/Next"),), {f"{S}/Pause"}),
    ("End false beside Next", JP, (("set", f"{S}/Pause/End", False),), set()),
    ("End not a boolean", JP, (("set", f"{S}/Pause/End", "yes"),), {f"{S}/Pause/End"}),
    ("Next on Succeed", JP, (("set", f"{S}/Done/Next", "Start"),), {f"{S}/Done/Next"}),
    ("End on Fail", JP, (("set", f"{S}/Failed/End", True),), {f"{S}/Failed/End"}),
    ("Next on Choice", JP, (("set", f"{S}/Route/Next", "Pause"),), {f"{S}/Route/Next"}),
    ("Next names nothing", JP, (("set", f"{S}/Pause/Next", "Nowhere"),), {f"{S}/Pause/Next"}),
    ("Next not a string", JP, (("set", f"{S}/Pause/Next", ["Fan"]),), {f"{S}/Pause/Next"}),
    ("Default names nothing", JP, (("set", f"{S}/Route/Default", "Nowhere"),), {f"{S}/Route/Default"}),
    ("Catch Next names nothing", JP, (("set", f"{S}/Charge/Catch/0/Next", "X"),),
     {f"{S}/Charge/Catch/0/Next", f"{S}/Failed"}),
    ("Choice rule Next names nothing", JP, (("set", f"{S}/Route/Choices/0/Next", "X"),),
     {f"{S}/Route/Choices/0/Next", f"{S}/Pause"}),
    ("TimeoutPath names nothing", JP, (("set", f"{S}/Await/TimeoutPath", "X"),),
     {f"{S}/Await/TimeoutPath", f"{S}/TimedOut"}),
    ("unreachable state", JP, (("set", f"{S}/Orphan", {"Type": "Succeed"}),), {f"{S}/Orphan"}),
    ("name longer than 80", JP, (("set", f"{S}/{LONG}", TO_START), ("set", "/StartAt", LONG)), {f"{S}/{LONG}"}),
    ("name of 80 is fine", JP, (("set", f"{S}/{LONG[1:]}", TO_START), ("set", "/StartAt", LONG[1:])), set()),
    ("name used in two scopes", JP,
     (("set", f"{S}/Fan/Branches/0/States", {"Done": SUCCEED}), ("set", f"{S}/Fan/Branches/0/StartAt", "Done")),
     {f"{S}/Fan/Branches/0/States/Done", f"{S}/Done"}),
    ("no terminal state", JP, (("set", "/States", {"A": {"Type": "Pass", "Next": "A"}}), ("set", "/StartAt", "A")),
     {"/States"}),
    # Retry and Catch
    ("Retry not an array", JP, (("set", f"{S}/Charge/Retry", {}),), {f"{S}/Charge/Retry"}),
    ("retrier not an object", JP, (("set", f"{S}/Charge/Retry/0", "x"),), {f"{S}/Charge/Retry/0"}),
    ("ErrorEquals missing", JP, (("del", f"{S}/Charge/Retry/0/ErrorEquals"),), {f"{S}/Charge/Retry/0"}),
    ("ErrorEquals empty", JP, (("set", f"{S}/Charge/Retry/0/ErrorEquals", []),), {f"{S}/Charge/Retry/0/ErrorEquals"}),
    ("error name not a string", JP, (("set", f"{S}/Charge/Retry/0/ErrorEquals", [1]),),
     {f"{S}/Charge/Retry/0/ErrorEquals/0"}),
    ("States.ALL not alone", JP, (("set", f"{S}/Charge/Retry/1/ErrorEquals", ["States.ALL", "X"]),),
     {f"{S}/Charge/Retry/1/ErrorEquals"}),
    ("States.ALL not last", JP, (("set", f"{S}/Charge/Retry/0/ErrorEquals", ["States.ALL"]),),
     {f"{S}/Charge/Retry/0/ErrorEquals"}),
    ("States.ALL in a catcher not last", JP,
     (("set", f"{S}/Charge/Catch", [CATCH_ALL, {"ErrorEquals": ["X"], "Next": "Failed"}]),),
     {f"{S}/Charge/Catch/0/ErrorEquals"}),
    ("IntervalSeconds zero", JP, (("set", f"{S}/Charge/Retry/0/IntervalSeconds", 0),),
     {f"{S}/Charge/Retry/0/IntervalSeconds"}),
    ("MaxAttempts negative", JP, (("set", f"{R0}/MaxAttempts", -1),), {f"{R0}/MaxAttempts"}),
    ("MaxAttempts zero is fine", JP, (("set", f"{S}/Charge/Retry/0/MaxAttempts", 0),), set()),
    ("MaxAttempts fractional", JP, (("set", f"{S}/Charge/Retry/0/MaxAttempts", 1.5),),
     {f"{S}/Charge/Retry/0/MaxAttempts"}),
    ("BackoffRate below 1", JP, (("set", f"{R0}/BackoffRate", 0.5),), {f"{R0}/BackoffRate"}),
    ("BackoffRate a string", JP, (("set", f"{R0}/BackoffRate", "2"),), {f"{R0}/BackoffRate"}),
    ("MaxDelaySeconds zero", JP, (("set", f"{S}/Charge/Retry/0/MaxDelaySeconds", 0),),
     {f"{S}/Charge/Retry/0/MaxDelaySeconds"}),
    ("JitterStrategy unknown", JP, (("set", f"{S}/Charge/Retry/0/JitterStrategy", "HALF"),),
     {f"{S}/Charge/Retry/0/JitterStrategy"}),
    ("unknown retrier field", JP, (("set", f"{S}/Charge/Retry/0/Next", "Route"),), {f"{S}/Charge/Retry/0/Next"}),
    ("catcher without Next", JP, (("del", f"{S}/Charge/Catch/0/Next"),), {f"{S}/Charge/Catch/0", f"{S}/Failed"}),
    ("catcher ResultPath not definite", JP, (("set", f"{S}/Charge/Catch/0/ResultPath", "$.a[*]"),),
     {f"{S}/Charge/Catch/0/ResultPath"}),
    ("catcher Output in JSONPath", JP, (("set", f"{S}/Charge/Catch/0/Output", {}),), {f"{S}/Charge/Catch/0/Output"}),
    ("catcher ResultPath in JSONata", JA, (("set", f"{S}/Call/Catch/0/ResultPath", "$.e"),),
     {f"{S}/Call/Catch/0/ResultPath"}),
    # Task
    ("Resource missing", JP, (("del", f"{S}/Charge/Resource"),), {f"{S}/Charge"}),
    ("Resource not a string", JP, (("set", f"{S}/Charge/Resource", 1),), {f"{S}/Charge/Resource"}),
    ("TimeoutSeconds zero", JP, (("set", f"{S}/Charge/TimeoutSeconds", 0),), {f"{S}/Charge/TimeoutSeconds"}),
    ("TimeoutSeconds too large", JP, (("set", f"{S}/Charge/TimeoutSeconds", 100_000_000),),
     {f"{S}/Charge/TimeoutSeconds"}),
    ("TimeoutSeconds with its Path", JP, (("set", f"{S}/Charge/TimeoutSecondsPath", "$.t"),),
     {f"{S}/Charge/TimeoutSecondsPath"}),
    ("HeartbeatSeconds not below TimeoutSeconds", JP, (("set", f"{S}/Charge/HeartbeatSeconds", 30),),
     {f"{S}/Charge/HeartbeatSeconds"}),
    ("HeartbeatSeconds expression in JSONPath", JP, (("set", f"{S}/Charge/HeartbeatSeconds", "{% 5 %}"),),
     {f"{S}/Charge/HeartbeatSeconds"}),
    ("HeartbeatSecondsPath not a path", JP, (("set", f"{S}/Charge/HeartbeatSecondsPath", "x"),),
     {f"{S}/Charge/HeartbeatSecondsPath", f"{S}/Charge/HeartbeatSecondsPath"}),
    ("Parameters not an object", JP, (("set", f"{S}/Charge/Parameters", [1]),), {f"{S}/Charge/Parameters"}),
    ("Parameters .$ path malformed", JP, (("set", f"{S}/Charge/Parameters/amount.$", "$.a["),),
     {f"~{S}/Charge/Parameters"}),
    ("Parameters unknown intrinsic", JP, (("set", f"{S}/Charge/Parameters/amount.$", "States.Nope($.a)"),),
     {f"~{S}/Charge/Parameters"}),
    ("Parameters .$ value not a string", JP, (("set", f"{S}/Charge/Parameters/amount.$", 5),),
     {f"~{S}/Charge/Parameters"}),
    ("JSONata TimeoutSeconds plain string", JA, (("set", f"{S}/Call/TimeoutSeconds", "10"),),
     {f"{S}/Call/TimeoutSeconds"}),
    ("JSONata Arguments a number", JA, (("set", f"{S}/Call/Arguments", 3),), {f"{S}/Call/Arguments"}),
    ("JSONata expression does not parse", JA, (("set", f"{S}/Call/Arguments/Payload", "{% $states.input. %}"),),
     {f"{S}/Call/Arguments/Payload"}),
    ("JSONata Output expression does not parse", JA, (("set", f"{S}/Start/Output", "{% ( %}"),), {f"{S}/Start/Output"}),
    ("JSONata Arguments an expression", JA, (("set", f"{S}/Call/Arguments", "{% $states.input %}"),), set()),
    # paths
    ("InputPath invalid", JP, (("set", f"{S}/Start/InputPath", "$.a["),), {f"{S}/Start/InputPath"}),
    ("InputPath not a path", JP, (("set", f"{S}/Start/InputPath", "a.b"),), {f"{S}/Start/InputPath"}),
    ("InputPath null", JP, (("set", f"{S}/Start/InputPath", None),), set()),
    ("OutputPath context object", JP, (("set", f"{S}/Start/OutputPath", "$$.Execution.Input"),), set()),
    ("OutputPath not a string", JP, (("set", f"{S}/Start/OutputPath", 5),), {f"{S}/Start/OutputPath"}),
    ("ResultPath not definite", JP, (("set", f"{S}/Start/ResultPath", "$..a"),), {f"{S}/Start/ResultPath"}),
    ("ResultPath into the context", JP, (("set", f"{S}/Start/ResultPath", "$$.Execution"),), {f"{S}/Start/ResultPath"}),
    ("ResultPath null", JP, (("set", f"{S}/Start/ResultPath", None),), set()),
    # Wait
    ("Wait without a duration", JP, (("del", f"{S}/Pause/Seconds"),), {f"{S}/Pause"}),
    ("Wait with two durations", JP, (("set", f"{S}/Pause/Timestamp", "2024-01-01T00:00:00Z"),), {f"{S}/Pause"}),
    ("Seconds negative", JP, (("set", f"{S}/Pause/Seconds", -1),), {f"{S}/Pause/Seconds"}),
    ("Seconds zero is fine", JP, (("set", f"{S}/Pause/Seconds", 0),), set()),
    ("Seconds expression in JSONPath", JP, (("set", f"{S}/Pause/Seconds", "{% 1 %}"),), {f"{S}/Pause/Seconds"}),
    ("SecondsPath not a path", JP, (("del", f"{S}/Pause/Seconds"), ("set", f"{S}/Pause/SecondsPath", "secs")),
     {f"{S}/Pause/SecondsPath"}),
    ("SecondsPath a variable", JP, (("del", f"{S}/Pause/Seconds"), ("set", f"{S}/Pause/SecondsPath", "$count")),
     set()),
    ("Timestamp without zone", JP, (NO_SECONDS, ("set", f"{S}/Pause/Timestamp", "2024-01-01T00:00:00")),
     {f"{S}/Pause/Timestamp"}),
    ("Timestamp impossible date", JP,
     (NO_SECONDS, ("set", f"{S}/Pause/Timestamp", "2023-02-29T00:00:00Z")), {f"{S}/Pause/Timestamp"}),
    ("Timestamp with offset and fraction", JP,
     (("del", f"{S}/Pause/Seconds"), ("set", f"{S}/Pause/Timestamp", "2024-02-29T23:59:59.123456789+05:30")), set()),
    ("JSONata Timestamp literal checked", JA, (("set", f"{S}/Later/Timestamp", "tomorrow"),), {f"{S}/Later/Timestamp"}),
    ("SecondsPath in JSONata", JA, (("del", f"{S}/Later/Timestamp"), ("set", f"{S}/Later/SecondsPath", "$.s")),
     {f"{S}/Later/SecondsPath", f"{S}/Later"}),
    # Fail
    ("Error with ErrorPath", JP, (("set", f"{S}/TimedOut/ErrorPath", "$.e"),), {f"{S}/TimedOut/ErrorPath"}),
    ("CausePath not a path", JP, (("set", f"{S}/Failed/CausePath", "nope"),), {f"{S}/Failed/CausePath"}),
    ("CausePath a malformed intrinsic", JP, (("set", f"{S}/Failed/CausePath", "States.Format('x{}', $.a"),),
     {f"{S}/Failed/CausePath"}),
    ("CausePath an intrinsic", JP, (("set", f"{S}/Failed/CausePath", "States.Format('x{}', $.a)"),), set()),
    ("Error not a string", JP, (("set", f"{S}/TimedOut/Error", 1),), {f"{S}/TimedOut/Error"}),
    ("Fail with InputPath", JP, (("set", f"{S}/Failed/InputPath", "$"),), {f"{S}/Failed/InputPath"}),
    # Parallel
    ("Branches empty", JP, (("set", f"{S}/Fan/Branches", []),), {f"{S}/Fan/Branches"}),
    ("Branches missing", JP, (("del", f"{S}/Fan/Branches"),), {f"{S}/Fan"}),
    ("branch not an object", JP, (("set", f"{S}/Fan/Branches/0", 1),), {f"{S}/Fan/Branches/0"}),
    ("branch without StartAt", JP, (("del", f"{S}/Fan/Branches/0/StartAt"),), {f"{S}/Fan/Branches/0"}),
    ("branch with an unknown field", JP, (("set", f"{S}/Fan/Branches/0/TimeoutSeconds", 5),),
     {f"{S}/Fan/Branches/0/TimeoutSeconds"}),
    ("branch Next leaves its scope", JP, (("set", f"{S}/Fan/Branches/0/States/B1", {"Type": "Pass", "Next": "Done"}),),
     {f"{S}/Fan/Branches/0/States/B1/Next", f"{S}/Fan/Branches/0/States"}),
    ("branch state invalid", JP, (("set", f"{S}/Fan/Branches/0/States/B1/Seconds", 1),),
     {f"{S}/Fan/Branches/0/States/B1/Seconds"}),
    # Map
    ("ItemProcessor and Iterator", JP, (("set", f"{S}/Each/Iterator", ITERATOR),),
     {f"{S}/Each"}),
    ("neither ItemProcessor nor Iterator", JP, (("del", f"{S}/Each/ItemProcessor"),), {f"{S}/Each"}),
    ("ItemsPath not definite", JP, (("set", f"{S}/Each/ItemsPath", "$.a[*]"),), {f"{S}/Each/ItemsPath"}),
    ("MaxConcurrency negative", JP, (("set", f"{S}/Each/MaxConcurrency", -1),), {f"{S}/Each/MaxConcurrency"}),
    ("MaxConcurrency with its Path", JP, (("set", f"{S}/Each/MaxConcurrencyPath", "$.m"),),
     {f"{S}/Each/MaxConcurrencyPath"}),
    ("ToleratedFailurePercentage above 100", JP, (("set", f"{S}/Each/ToleratedFailurePercentage", 101),),
     {f"{S}/Each/ToleratedFailurePercentage"}),
    ("ToleratedFailurePercentage fractional", JP, (("set", f"{S}/Each/ToleratedFailurePercentage", 0.5),), set()),
    ("ToleratedFailureCount negative", JP, (("set", f"{S}/Each/ToleratedFailureCount", -1),),
     {f"{S}/Each/ToleratedFailureCount"}),
    ("ProcessorConfig Mode unknown", JP, (("set", f"{S}/Each/ItemProcessor/ProcessorConfig/Mode", "FAST"),),
     {f"{S}/Each/ItemProcessor/ProcessorConfig/Mode"}),
    ("ProcessorConfig ExecutionType unknown", JP,
     (("set", f"{S}/Each/ItemProcessor/ProcessorConfig/ExecutionType", "SLOW"),),
     {f"{S}/Each/ItemProcessor/ProcessorConfig/ExecutionType"}),
    ("ItemSelector with Parameters", JP, (("set", f"{S}/Each/ItemSelector", {}), ("set", f"{S}/Each/Parameters", {})),
     {f"{S}/Each/Parameters"}),
    ("legacy Iterator is fine", JP,
     (("del", f"{S}/Each/ItemProcessor"), ("set", f"{S}/Each/Iterator", ITERATOR)),
     set()),
    ("Items in JSONPath", JP, (("set", f"{S}/Each/Items", [1]),), {f"{S}/Each/Items"}),
    ("Items a number in JSONata", JA, (("set", f"{S}/Each/Items", 3),), {f"{S}/Each/Items"}),
    ("Items an array in JSONata", JA, (("set", f"{S}/Each/Items", [1, 2]),), set()),
    ("inner state unreachable", JP, (("set", f"{S}/Each/ItemProcessor/States/Lost", {"Type": "Succeed"}),),
     {f"{S}/Each/ItemProcessor/States/Lost"}),
    # Choice
    ("Choices empty", JP, (("set", f"{S}/Route/Choices", []),), {f"{S}/Route/Choices", f"{S}/Pause"}),
    ("Choices missing", JP, (("del", f"{S}/Route/Choices"),), {f"{S}/Route", f"{S}/Pause"}),
    ("Choice rule not an object", JP, (("set", f"{S}/Route/Choices/0", 1),), {f"{S}/Route/Choices/0", f"{S}/Pause"}),
    ("Choice rule invalid", JP, (("set", f"{S}/Route/Choices/0/NumericEquals", "one"),), {f"~{S}/Route/Choices/0"}),
    ("JSONata rule without Condition", JA, (("del", f"{S}/Check/Choices/0/Condition"),), {f"{S}/Check/Choices/0"}),
    ("JSONata rule with Variable", JA, (("set", f"{S}/Check/Choices/0/Variable", "$.x"),),
     {f"{S}/Check/Choices/0/Variable"}),
    ("JSONata rule Condition a number", JA, (("set", f"{S}/Check/Choices/0/Condition", 1),),
     {f"{S}/Check/Choices/0/Condition"}),
    ("JSONata rule Condition literal true", JA, (("set", f"{S}/Check/Choices/0/Condition", True),), set()),
    # Message (stepstream's extension)
    ("CorrelationKey missing", JP, (("del", f"{S}/Await/CorrelationKey"),), {f"{S}/Await"}),
    ("CorrelationKey not a string", JP, (("set", f"{S}/Await/CorrelationKey", 1),), {f"{S}/Await/CorrelationKey"}),
    ("CorrelationValuePath missing", JP, (("del", f"{S}/Await/CorrelationValuePath"),), {f"{S}/Await"}),
    ("CorrelationValue in JSONPath", JP, (("set", f"{S}/Await/CorrelationValue", "x"),),
     {f"{S}/Await/CorrelationValue"}),
    ("CorrelationValuePath in JSONata", JA, (("set", f"{S}/Await/CorrelationValuePath", "$.x"),),
     {f"{S}/Await/CorrelationValuePath"}),
    ("Message TimeoutSeconds with its Path", JP, (("set", f"{S}/Await/TimeoutSecondsPath", "$.t"),),
     {f"{S}/Await/TimeoutSecondsPath"}),
    ("Message with Parameters", JP, (("set", f"{S}/Await/Parameters", {}),), {f"{S}/Await/Parameters"}),
    ("Message without Next or End", JA, (("del", f"{S}/Await/End"),), {f"{S}/Await"}),
    # variables
    ("Assign name starts with a digit", JP, (("set", f"{S}/Start/Assign/1x", 1),), {f"{S}/Start/Assign/1x"}),
    ("Assign name starts with $", JP, (("set", f"{S}/Start/Assign/$x", 1),), {f"{S}/Start/Assign/$x"}),
    ("Assign name reserved", JP, (("set", f"{S}/Start/Assign/states", 1),), {f"{S}/Start/Assign/states"}),
    ("Assign name too long", JP, (("set", f"{S}/Start/Assign/{'v' * 81}", 1),), {f"{S}/Start/Assign/{'v' * 81}"}),
    ("Assign the same name twice", JP, (("set", f"{S}/Start/Assign/count.$", "$.n"),), {f"{S}/Start/Assign/count.$"}),
    ("Assign not an object", JP, (("set", f"{S}/Pause/Assign", [1]),), {f"{S}/Pause/Assign"}),
    ("Assign on Succeed", JP, (("set", f"{S}/Done/Assign", {}),), {f"{S}/Done/Assign"}),
    ("JSONata Choice rule Assign name", JA, (("set", f"{S}/Check/Choices/0/Assign", {"a-b": 1}),),
     {f"{S}/Check/Choices/0/Assign/a-b"}),
    ("reference to an unassigned variable", JP, (("set", f"{S}/Charge/Parameters/other.$", "$nobody"),),
     {f"{S}/Charge/Parameters/other.$"}),
    ("unassigned variable in a path field", JP, (("set", f"{S}/Charge/InputPath", "$nobody.x"),),
     {f"{S}/Charge/InputPath"}),
    ("unassigned variable in an intrinsic", JP,
     (("set", f"{S}/Charge/Parameters/other.$", "States.Format('{}', $nobody)"),), {f"{S}/Charge/Parameters/other.$"}),
    ("quoted $ is no reference", JP,
     (("set", f"{S}/Charge/Parameters/other.$", "States.Format('$nobody {}', $count)"),), set()),
    ("unassigned variable in a Choice rule", JP, (("set", f"{S}/Route/Choices/0/Variable", "$nobody"),),
     {f"{S}/Route/Choices/0/Variable"}),
    ("variable assigned by a catcher", JP,
     (("set", f"{S}/Charge/Catch/0/Assign", {"err.$": "$.Error"}), ("set", f"{S}/Failed/ErrorPath", "$err")), set()),
    ("branch variable invisible outside", JP,
     (("set", f"{S}/Fan/Branches/0/States/B1/Assign", {"inner": 1}), ("set", f"{S}/Each/OutputPath", "$inner")),
     {f"{S}/Each/OutputPath"}),
    ("outer variable visible inside", JP,
     (("set", f"{S}/Each/ItemProcessor/States/Item/Parameters", {"c.$": "$count"}),), set()),
    ("JSONata references are not checked", JA, (("set", f"{S}/Start/Output", "{% $nobody %}"),), set()),
]


@pytest.mark.parametrize(("base", "operations", "expected"), [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_one_mutation_gives_exactly_the_expected_pointers(base: Any, operations: Any, expected: set[str]) -> None:
    found = pointers(edit(base(), *operations))
    exact = {p for p in expected if not p.startswith("~")}
    prefixes = [p[1:] for p in expected if p.startswith("~")]
    assert exact <= found
    rest = found - exact
    assert all(any(p.startswith(prefix) for prefix in prefixes) for p in rest), (found, expected)
    assert not prefixes or rest, f"nothing reported under {prefixes}"


@pytest.mark.parametrize("base", [JP, JA], ids=["jsonpath", "jsonata"])
def test_the_base_machines_are_valid(base: Any) -> None:
    assert validate_definition(base()) == []


@pytest.mark.parametrize("definition", [None, [], "StartAt", 5, True, 1.5])
def test_a_definition_that_is_not_an_object(definition: Any) -> None:
    assert pointers(definition) == {""}


def test_every_problem_is_reported_at_once() -> None:
    broken = edit(
        JP(),
        ("del", "/StartAt"),
        ("set", f"{S}/Pause/Seconds", -1),
        ("set", f"{S}/Charge/Retry/0/BackoffRate", 0),
        ("set", f"{S}/Fan/Branches/0/States/B1/Type", "Nope"),
    )
    expected = {"", f"{S}/Pause/Seconds", f"{S}/Charge/Retry/0/BackoffRate", f"{S}/Fan/Branches/0/States/B1/Type"}
    assert pointers(broken) >= expected


def test_messages_name_the_field() -> None:
    problems = validate_definition(edit(JP(), ("set", f"{S}/Charge/Retry/0/BackoffRate", 0.5)))
    assert len(problems) == 1
    assert isinstance(problems[0], Problem)
    assert "BackoffRate" in problems[0].message


def test_pointer_tokens_are_escaped() -> None:
    definition = {"StartAt": "a/b~c", "States": {"a/b~c": {"Type": "Pass", "Bogus": 1, "End": True}}}
    assert pointers(definition) == {"/States/a~1b~0c/Bogus"}


def test_express_machines_reject_callback_and_sync_patterns() -> None:
    task = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": True}
    definition = {"StartAt": "T", "States": {"T": task}}
    assert validate_definition(definition) == []
    assert pointers(definition, state_machine_type="EXPRESS") == {"/States/T/Resource"}
    task["Resource"] = "arn:aws:states:::ecs:runTask.sync"
    assert pointers(definition, state_machine_type="EXPRESS") == {"/States/T/Resource"}


def test_deep_nesting_gives_problems_not_exceptions() -> None:
    body: dict[str, Any] = tiny()
    for _ in range(3000):
        body = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [body], "End": True}}}
    assert isinstance(validate_definition(body), list)


# --- the AWS-recorded corpus ------------------------------------------------------------------


def _cases(accepted: bool) -> list[Any]:
    if not CORPUS.is_dir():
        return []
    found = []
    for path in sorted(CORPUS.glob("*/*.json")):
        case = json.loads(path.read_text())
        if (case["expected"]["status"] in ACCEPTED) == accepted:
            found.append(pytest.param(case, id=path.stem))
    return found


@pytest.mark.skipif(not CORPUS.is_dir(), reason="conformance corpus not found")
@pytest.mark.parametrize("case", _cases(accepted=True))
def test_definitions_aws_accepted_are_valid(case: dict[str, Any]) -> None:
    assert validate_definition(case["definition"], state_machine_type=case["state_machine_type"]) == []


@pytest.mark.skipif(not CORPUS.is_dir(), reason="conformance corpus not found")
@pytest.mark.parametrize("case", _cases(accepted=False))
def test_validation_cases_get_the_aws_verdict(case: dict[str, Any]) -> None:
    problems = validate_definition(case["definition"], state_machine_type=case["state_machine_type"])
    assert bool(problems) == (case["expected"]["status"] == "DEFINITION_REJECTED"), problems


def test_the_corpus_holds_the_cases_the_checks_rely_on() -> None:
    if not CORPUS.is_dir():
        pytest.skip("conformance corpus not found")
    assert len(_cases(accepted=True)) >= 600
    assert len(_cases(accepted=False)) >= 12


# --- fuzzing ----------------------------------------------------------------------------------

JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "$", "$.a", "$$", "$x", "$.a[*]", "{% $x %}", "{%", "States.ALL", "States.Format('{}', $.a)",
                     "Pass", "Task", "Choice", "JSONata", "JSONPath", "Start", "Done", "2024-01-01T00:00:00Z"]),
    st.text(max_size=8),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
FIELD_NAMES = st.sampled_from(
    ["Type", "Next", "End", "Resource", "Parameters", "Arguments", "Output", "Assign", "Retry", "Catch", "Choices",
     "Default", "Branches", "ItemProcessor", "Iterator", "Items", "ItemsPath", "ResultPath", "InputPath",
     "TimeoutSeconds", "HeartbeatSeconds", "Seconds", "Timestamp", "ErrorEquals", "QueryLanguage", "StartAt",
     "States", "Condition", "Variable", "CorrelationKey", "TimeoutPath", "ProcessorConfig", "x.$"]
)


def _containers(value: Any, pointer: str = "") -> list[str]:
    """Pointers of every object and array in a document, the root included."""
    found = [pointer] if isinstance(value, dict | list) else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        found += _containers(item, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    return found


def _resolve(document: Any, pointer: str) -> Any:
    node = document
    for token in _tokens(pointer) if pointer else []:
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


@st.composite
def mutated_definitions(draw: st.DrawFn) -> Any:
    document = draw(st.sampled_from([JP, JA]))()
    for _ in range(draw(st.integers(1, 4))):
        target = _resolve(document, draw(st.sampled_from(_containers(document))))
        value = draw(JSON_VALUES)
        if isinstance(target, dict):
            key = draw(FIELD_NAMES | st.sampled_from(sorted(target) or ["Type"]))
            if draw(st.booleans()) and target:
                target.pop(draw(st.sampled_from(sorted(target))))
            else:
                target[key] = value
        elif target:
            target[draw(st.integers(0, len(target) - 1))] = value
        else:
            target.append(value)
    return document


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_definitions())
def test_mutated_definitions_give_problems_never_exceptions(definition: Any) -> None:
    problems = validate_definition(definition)
    assert isinstance(problems, list)
    assert all(isinstance(p, Problem) and isinstance(p.message, str) and p.message for p in problems)
    assert all(p.pointer == "" or p.pointer.startswith("/") for p in problems)
    assert not [p for p in problems if "internal error" in p.message], problems


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES)
def test_any_json_value_gives_problems_never_exceptions(definition: Any) -> None:
    problems = validate_definition(definition)
    assert problems, "a random value is not a valid definition"
    assert not [p for p in problems if "internal error" in p.message], problems
