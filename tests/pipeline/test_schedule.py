"""Scheduling that absorbs slow and failed requests (issue 26, item 1) without changing what a run generates."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfinstruct.pipeline.rounds import FIRST_ROUNDS, LAG_ROUNDS, SCHEDULE, horizon, previews, round_start
from tests.servers import Fault, Reply, Request, Responder, StartServer

KEY = "sk-test-schedule"


def is_instructions(request: Request) -> bool:
    return request.prompt.rstrip().endswith("Task 9:")


def is_instances(request: Request) -> bool:
    tail = request.prompt.rstrip()
    return not is_instructions(request) and not tail.endswith("Is it classification?")


@given(st.integers(0, 10_000), st.integers(1, 64), st.sampled_from([2, 3, SCHEDULE]))
def test_rules_2_to_4_see_whole_rounds_at_most_a_few_rounds_back(request: int, window: int, rule: int) -> None:
    seen = horizon(request, window, rule)
    start = round_start(request, window)
    assert seen <= start and (seen == 0 or round_start(seen, window) == seen)  # a round boundary
    assert request < 1 or seen >= 1  # from request 1 on, the model's own tasks can be shown
    assert start - seen <= max(LAG_ROUNDS + 1, FIRST_ROUNDS) * window  # demonstrations a few rounds old at most
    assert horizon(request + 1, window, rule) >= seen  # dispatching in request order never waits for an earlier gate


@given(st.integers(1, 10_000), st.integers(1, 64))
def test_rules_3_and_4_gate_the_first_rounds_on_request_0_only(request: int, window: int) -> None:
    """Under rule 2 requests 1, 3 and 7 each held back the rounds after them, so one retried request among
    them stalled a run's start; under rules 3 and 4 nothing before the second full round waits for more than
    request 0, and later rounds see what rule 2 showed them. Rule 4 shows exactly those first rounds request 0's
    candidates (its preview) instead of its tasks."""
    for rule in (3, SCHEDULE):
        if round_start(request, window) < FIRST_ROUNDS * window:
            assert horizon(request, window, rule) == 1
        else:
            assert horizon(request, window, rule) == horizon(request, window, 2)
        assert horizon(request, window, rule) <= horizon(request, window, 2)
    assert previews(request, window, SCHEDULE) == (round_start(request, window) < FIRST_ROUNDS * window)
    assert not previews(0, window, SCHEDULE) and not any(previews(request, window, rule) for rule in (1, 2, 3))


@given(st.integers(0, 10_000), st.integers(1, 64))
def test_rule_1_is_kept_for_older_runs(request: int, window: int) -> None:
    seen = horizon(request, window, 1)
    start = round_start(request, window)
    assert seen <= start and (seen == 0 or round_start(seen, window) == seen)
    assert request < 1 or seen >= 1
    assert start - seen <= window  # two full rounds in flight at most: what runs before schedule 2 saw


def test_a_slow_request_does_not_hold_back_the_next_rounds(
    tmp_path: Path, fake_openai: StartServer, scripted: Responder, run: Callable[..., tuple[int, str, str]]
) -> None:
    """Issue 26, item 1: a round could start only once the rounds before it were committed, so one slow (or
    retried) instances request of request 1 held back every instruction request after it. Now requests 1-7
    need only request 0: they are all sent while that request is still unanswered."""
    instructions_seen = threading.Event()
    held: list[bool] = []  # whether the held request was released by the later rounds (not by the timeout)

    def responder(request: Request) -> Reply:
        sent = sum(map(is_instructions, server.requests))
        if sent >= 8:
            instructions_seen.set()
        if is_instances(request) and sent >= 2 and not held:  # request 1 is out: request 0 is committed
            held.append(False)
            held[0] = instructions_seen.wait(timeout=15)  # released at once when the later rounds are sent
        return scripted(request)

    with fake_openai(responder, api_key=KEY) as server:
        code, _, stderr = run(server, tmp_path / "run", "-n", "120", "--concurrency", "16")
    assert code == 0, stderr
    assert held == [True]


def test_a_request_waiting_out_retry_after_frees_its_slot(
    tmp_path: Path, scripted_server: StartServer, run: Callable[..., tuple[int, str, str]]
) -> None:
    """A job whose request sleeps through a 429's Retry-After held one of --concurrency slots, so at
    concurrency 1 the run sent nothing for that time. Now other needed work goes out while it waits."""
    with scripted_server(api_key=KEY) as server:
        server.inject_when(is_instances, Fault(status=429, retry_after=3))
        code, _, stderr = run(server, tmp_path / "run", "-n", "20", "--concurrency", "1")
        prompts = [r.prompt for r in server.requests]
        failed = next(i for i, r in enumerate(server.requests) if r.outcome != "ok")
    assert code == 0, stderr
    retried = prompts.index(prompts[failed], failed + 1)
    assert retried > failed + 1  # other requests were answered while the 429 was waited out


def test_same_pool_with_faults_at_any_concurrency(
    tmp_path: Path,
    scripted_server: StartServer,
    run: Callable[..., tuple[int, str, str]],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    """Retries reorder when things land, never what a request sees: the pool is the clean sequential one."""
    out = {}
    for name, concurrency, faults in (("clean", "1", False), ("faults", "32", True)):
        with scripted_server(api_key=KEY) as server:
            if faults:  # every 3rd instruction request and every 7th instances request fails once
                seen = {"instructions": 0, "instances": 0}

                def every(step: str, nth: int, request: Request, seen: dict[str, int] = seen) -> bool:
                    seen[step] += 1
                    return seen[step] % nth == 0

                server.inject_when(lambda r: is_instructions(r) and every("instructions", 3, r),
                                   Fault(status=429, retry_after=0.2), times=10)  # fmt: skip
                server.inject_when(lambda r: is_instances(r) and every("instances", 7, r), Fault(status=500), times=20)
            out[name] = tmp_path / name
            code, _, stderr = run(server, out[name], "-n", "150", "--concurrency", concurrency)
            assert code == 0, stderr
            if faults:
                assert server.pending_faults() < 25  # faults were met
    assert max(t["meta"]["request"] for t in tasks(out["clean"])) > 16  # type: ignore[index]
    assert (out["clean"] / "tasks.jsonl").read_bytes() == (out["faults"] / "tasks.jsonl").read_bytes()


@pytest.mark.parametrize("rule", [1, 2, 3])
def test_a_run_started_under_an_older_rule_continues_under_it(
    tmp_path: Path, rule: int, scripted_server: StartServer, run: Callable[..., tuple[int, str, str]]
) -> None:
    """Changing the rule changes pools: a run directory whose run.json predates the rule (no "schedule": rule 1)
    or names an older one is resumed under it, not silently switched, and keeps saying so; a new run records
    the current rule."""
    old, new = tmp_path / "old", tmp_path / "new"
    with scripted_server(api_key=KEY) as server:
        for out in (old, new):
            assert run(server, out, "-n", "3")[0] == 0  # request 0 only: the same under every rule
        run_json = json.loads((old / "run.json").read_text())
        assert run_json["settings"]["schedule"] == SCHEDULE
        if rule == 1:
            del run_json["settings"]["schedule"]
        else:
            run_json["settings"]["schedule"] = rule
        (old / "run.json").write_text(json.dumps(run_json))
        for out in (old, new):
            code, _, stderr = run(server, out, "-n", "100", "--concurrency", "8")
            assert code == 0, stderr
        assert json.loads((old / "run.json").read_text())["settings"]["schedule"] == rule
        assert run(server, old, "-n", "110")[0] == 0  # and resumes again under its rule, not refused
    assert json.loads((old / "run.json").read_text())["settings"]["schedule"] == rule
    assert json.loads((new / "run.json").read_text())["settings"]["schedule"] == SCHEDULE
    assert (old / "tasks.jsonl").read_bytes() != (new / "tasks.jsonl").read_bytes()  # the rule matters


def test_a_run_from_a_newer_rule_is_refused(
    tmp_path: Path, scripted_server: StartServer, run: Callable[..., tuple[int, str, str]]
) -> None:
    out = tmp_path / "run"
    with scripted_server(api_key=KEY) as server:
        assert run(server, out, "-n", "3")[0] == 0
        run_json = json.loads((out / "run.json").read_text())
        run_json["settings"]["schedule"] = SCHEDULE + 1
        (out / "run.json").write_text(json.dumps(run_json))
        before = (out / "tasks.jsonl").read_bytes()
        code, _, stderr = run(server, out, "-n", "10")
    assert code == 2 and "newer selfinstruct" in stderr and len(stderr.strip().splitlines()) == 1
    assert (out / "tasks.jsonl").read_bytes() == before


def test_nothing_more_is_sent_once_the_target_is_reached(
    tmp_path: Path,
    fake_openai: StartServer,
    scripted: Responder,
    scripted_server: StartServer,
    run: Callable[..., tuple[int, str, str]],
) -> None:
    """Issue 26, item 1: at the target the run waited for every job still going, and those jobs kept sending: a
    retry after its backoff or Retry-After, the instances request after a classify. Each was paid for and waited
    for (a second or more at the end of a run with 429s) to decide nothing. Now only what is on the wire lands.

    The questions a sequential run asks are the ones the pool needs; a concurrent run also asks others ahead of
    time. The first two of those are held by the server until the target is committed, then fail with a 500:
    they must not be asked again."""
    n = 30
    with scripted_server(api_key=KEY) as server:
        assert run(server, tmp_path / "sequential", "-n", str(n), "--concurrency", "1")[0] == 0
        needed = {json.dumps(r.body, sort_keys=True) for r in server.requests}
    out = tmp_path / "run"
    held: list[str] = []
    lock = threading.Lock()

    def reached() -> bool:
        path = out / "tasks.jsonl"
        return path.exists() and path.read_bytes().count(b"\n") >= n

    def responder(request: Request) -> Reply:
        question = json.dumps(request.body, sort_keys=True)
        with lock:
            hold = question not in needed and question not in held and len(held) < 2
            if hold:
                held.append(question)
        if hold:
            for _ in range(6000):  # released by the final commit (60 s at most: the test then fails, not hangs)
                if reached():
                    break
                threading.Event().wait(0.01)
            raise RuntimeError("answered after the target: a 500")
        return scripted(request)

    with fake_openai(responder, api_key=KEY) as server:
        code, _, stderr = run(server, out, "-n", str(n), "--concurrency", "16")
        asked = [json.dumps(r.body, sort_keys=True) for r in server.requests]
    assert code == 0, stderr
    assert len(held) == 2  # the concurrent run did ask ahead, and those requests were on the wire at the end
    assert [asked.count(question) for question in held] == [1, 1]
    assert (out / "tasks.jsonl").read_bytes() == (tmp_path / "sequential" / "tasks.jsonl").read_bytes()


def test_the_first_rounds_go_out_when_request_0s_reply_lands(
    tmp_path: Path, fake_openai: StartServer, scripted: Responder, run: Callable[..., tuple[int, str, str]]
) -> None:
    """Issue 26, rule 4: requests 1-63 waited for request 0's classify and instances requests, three steps in a
    row on the critical path of every run (a 429 on any of them stalled the start by its Retry-After). Now they
    need request 0's instruction reply only: the next rounds are sent while request 0's classify requests are
    held."""
    released = threading.Event()
    held: list[bool] = []  # for each held request: released by the later rounds (not by the timeout)

    def responder(request: Request) -> Reply:
        if sum(map(is_instructions, server.requests)) >= 8:
            released.set()
        if not is_instructions(request) and not released.is_set():
            held.append(released.wait(timeout=15))
        return scripted(request)

    with fake_openai(responder, api_key=KEY) as server:
        code, _, stderr = run(server, tmp_path / "run", "-n", "60", "--concurrency", "16")
    assert code == 0, stderr
    assert held and all(held)


def _demonstrated(prompt: str, instructions: list[str]) -> set[str]:
    return {text for text in instructions if text in prompt}


def test_the_first_rounds_see_request_0s_candidates_also_after_a_resume(
    tmp_path: Path,
    fake_openai: StartServer,
    scripted: Responder,
    run: Callable[..., tuple[int, str, str]],
    tasks: Callable[[Path], list[dict[str, object]]],
) -> None:
    """Under rule 4 requests 1-63 sample request 0's candidates that passed the instruction filters, including
    one its instances request later rejected (as the original script's machine pool held instructions before
    any instances). A run stopped once request 0 is committed takes that preview from request 0's records on
    resume, so its requests show what the uninterrupted run's showed and the pool is the same."""
    broken: list[str] = []  # the instruction whose instances reply is unusable

    def responder(request: Request) -> Reply:
        if is_instances(request) and (not broken or broken[0] in request.prompt):
            if not broken:
                broken.append(request.prompt.rsplit("Task:", 1)[-1].strip().splitlines()[0])
            return Reply(text="")
        return scripted(request)

    prompts: dict[str, list[str]] = {}
    for name in ("whole", "stopped"):
        out = tmp_path / name
        broken.clear()
        with fake_openai(responder, api_key=KEY) as server:
            if name == "stopped":  # the second instruction request is refused for good: request 0 only is committed
                server.inject_when(lambda r: is_instructions(r) and sum(map(is_instructions, server.requests)) == 2,
                                   Fault(status=401), times=1)  # fmt: skip
                code, _, stderr = run(server, out, "-n", "40", "--concurrency", "1")
                assert code != 0 and len(tasks(out)) > 0 and {t["meta"]["request"] for t in tasks(out)} == {0}  # type: ignore[index]
            code, _, stderr = run(server, out, "-n", "40", "--concurrency", "1")
            assert code == 0, stderr
            prompts[name] = [r.prompt for r in server.requests if is_instructions(r)]
    rejected = [json.loads(line) for line in (tmp_path / "whole" / "rejected.jsonl").read_text().splitlines()]
    dropped = [r["instruction"] for r in rejected if r["meta"]["request"] == 0 and r["stage"] == "instances"]
    assert dropped == broken
    shown = set().union(*(_demonstrated(p, dropped) for p in prompts["whole"][1:8]))
    assert shown == set(dropped)  # a candidate that never became a task was shown to the first rounds
    assert prompts["whole"][1:] == prompts["stopped"][-len(prompts["whole"][1:]) :]
    assert (tmp_path / "whole" / "tasks.jsonl").read_bytes() == (tmp_path / "stopped" / "tasks.jsonl").read_bytes()


def test_a_candidate_that_duplicates_a_task_committed_after_its_precheck_is_never_sent(
    tmp_path: Path, fake_openai: StartServer, scripted: Responder, run: Callable[..., tuple[int, str, str]]
) -> None:
    """A candidate is searched for near-duplicates when its reply lands (against the tasks its round may see) and
    again before its classify request is paid: the second search covers only the tasks committed since the
    first (`Candidate.checked`). Requests 1-63 see only the seeds when they land, so a near-duplicate of one of
    request 0's tasks passes its first search; its replies are held until request 0 is committed, and the second
    search must then find that task: the candidate is rejected as a near-duplicate without a request of its own."""
    original = "Write a haiku about the quiet harbour at dawn for tired sailors."
    duplicate = "Write a haiku about the quiet harbour at dawn for young sailors."
    out = tmp_path / "run"
    seen: list[bool] = []  # for each later instruction request: request 0 was committed before its reply

    def committed() -> bool:
        path = out / "tasks.jsonl"
        return path.exists() and original.encode() in path.read_bytes()

    def first_task(reply: Reply, text: str) -> Reply:
        return Reply(re.sub(r"^Task 9: .*$", f"Task 9: {text}", reply.text, count=1, flags=re.M))

    def responder(request: Request) -> Reply:
        if not is_instructions(request):
            return scripted(request)
        if sum(map(is_instructions, server.requests)) == 1:  # request 0
            return first_task(scripted(request), original)
        for _ in range(3000):  # 30 s at most: the test then fails, not hangs
            if committed():
                break
            threading.Event().wait(0.01)
        seen.append(committed())
        return first_task(scripted(request), duplicate)

    with fake_openai(responder, api_key=KEY) as server:
        code, _, stderr = run(server, out, "-n", "20", "--concurrency", "4")
        prompts = [r.prompt for r in server.requests if not is_instructions(r)]
    assert code == 0, stderr
    assert seen and all(seen)
    assert any(original in p for p in prompts)
    assert not any(duplicate in p for p in prompts)
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["reason"] for r in rejected if r.get("instruction") == duplicate]
    assert {r["reason"] for r in rejected if r.get("instruction") == duplicate} == {"near_duplicate"}
