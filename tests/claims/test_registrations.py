"""The pre-registration rules: every claim registered, confirmatory seeds fresh and unshared.

The git checks read the repository's history (they skip outside a git checkout with its
history, e.g. an installed wheel); the others need only the code.
"""

from __future__ import annotations

import ast
import datetime
import hashlib
import inspect
import subprocess
from pathlib import Path

import pytest

from jamming.compare.claims import ConfirmatorySeeds, Registration, registry
from jamming.compare.registrations import REGISTRATIONS
from jamming.config import SCALES
from jamming.sweeps.catalog import SWEEPS

REPO = Path(__file__).resolve().parents[2]


def all_registrations(registration: Registration):
    """A registration and every earlier one, oldest first."""
    return [*registration.previous, registration]


def seed_pattern(seed: int) -> str:
    """An extended regex that matches ``seed`` written as a literal, with or without ``_``."""
    return "(^|[^0-9_])" + "_?".join(str(seed)) + "([^0-9_]|$)"


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def history():
    """Skip unless the checkout is a git repository with the registered commits in it."""
    if git("rev-parse", "--is-inside-work-tree").returncode != 0:
        pytest.skip("not a git checkout")
    if git("rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        pytest.skip("a shallow clone lacks the history the registrations name")
    return git


def test_every_claim_is_registered_and_every_registration_names_a_claim():
    assert set(REGISTRATIONS) == set(registry())


def test_confirmatory_seeds_are_the_sweeps_current_ones():
    """A sweep whose seeds or version changed after a registration needs a new registration."""
    for claim_id, claim in registry().items():
        for name, seeds in claim.registration.confirmatory.items():
            assert name in claim.sweeps, (claim_id, name)
            spec = SWEEPS[name]
            assert seeds.version == spec.version, (claim_id, name, "version changed")
            for scale, root in seeds.root_seeds.items():
                assert spec.root_seeds[scale] == root, (claim_id, name, scale)


def test_no_confirmatory_root_seed_appears_in_an_exploratory_sweep():
    """A confirmatory root belongs to one (sweep, scale) only: never to a quick grid, never
    to another scale or another sweep, where its data could have been seen."""
    users: dict[int, set[tuple[str, str]]] = {}
    for name, spec in SWEEPS.items():
        for scale, root in spec.root_seeds.items():
            users.setdefault(root, set()).add((name, scale))
    for claim_id, claim in registry().items():
        for name, seeds in claim.registration.confirmatory.items():
            for scale, root in seeds.root_seeds.items():
                assert users[root] == {(name, scale)}, (claim_id, root, users[root])


def test_the_rules_catch_a_confirmatory_seed_that_is_also_quick():
    with pytest.raises(ValueError, match="never quick"):
        ConfirmatorySeeds("1", {"quick": 1, "paper": 2})
    with pytest.raises(ValueError, match="hex digits"):
        Registration("HEAD", "2026-12-02")


def test_data_kind_follows_the_registration(monkeypatch):
    (lazy,) = [c for c in registry().values() if c.id == "S2.lazy-limit"]
    assert lazy.data_kind("paper") == "confirmatory"
    assert lazy.data_kind("quick") == "exploratory"
    spec = SWEEPS["lazy-limit"]
    monkeypatch.setitem(spec.root_seeds, "paper", spec.root_seeds["paper"] + 1)
    assert lazy.data_kind("paper") == "exploratory"  # seeds changed since the registration
    cover = registry()["S1.cover-finite-size"]
    assert not cover.registration.confirmatory and cover.data_kind("paper") == "exploratory"


def test_every_seed_of_a_grid_derives_from_its_declared_root():
    """Otherwise a sweep could draw data a registration does not name."""
    for name, spec in SWEEPS.items():
        for scale in SCALES:
            root = spec.root_seeds[scale]
            original, shifted = spec.grid(scale, root), spec.grid(scale, root + 1)
            for a, b in zip(original, shifted, strict=True):
                seeds = [k for k in a if "seed" in k]
                assert seeds and all(a[k] != b[k] for k in seeds), (name, scale, a)


def history_problems(claim_id: str, registration: Registration, git_command) -> list[str]:
    """What the git history says against one registration (empty: nothing)."""
    problems = []
    commit = registration.commit
    if git_command("merge-base", "--is-ancestor", commit, "HEAD").returncode != 0:
        return [f"{commit} is not an ancestor of HEAD"]
    stamp = git_command("show", "-s", "--format=%ct", commit).stdout.strip()
    day = datetime.datetime.fromtimestamp(int(stamp), datetime.timezone.utc).date()
    if day.isoformat() != registration.date:
        problems.append(f"{commit} is dated {day}, not {registration.date}")
    if git_command("grep", "-q", "-F", f'"{claim_id}"', commit, "--", "compare").returncode:
        problems.append(f"{claim_id} is not in {commit}")
    for seeds in registration.confirmatory.values():
        for root in seeds.root_seeds.values():
            pattern = seed_pattern(root)
            if git_command("grep", "-q", "-E", pattern, commit, "--", "sweeps").returncode:
                problems.append(f"root seed {root} is not in the sweeps of {commit}")
            earlier = git_command("log", "--format=%h", "-E", "-G", pattern, f"{commit}^")
            if earlier.returncode or earlier.stdout.strip():
                problems.append(f"root seed {root} was used before {commit}: "
                                f"{' '.join(earlier.stdout.split())}")
    return problems


@pytest.mark.parametrize("claim_id", sorted(REGISTRATIONS))
def test_registration_commit_holds_the_claim_and_fresh_seeds(claim_id, history):
    for registration in all_registrations(REGISTRATIONS[claim_id]):
        assert history_problems(claim_id, registration, history) == []


def test_the_history_check_refuses_seeds_used_before_the_registration(history):
    """S1's Cover sweep root (in the code since the first S1 commit) cannot confirm a claim
    registered later, nor can a registration be dated wrongly or name an absent claim."""
    later = REGISTRATIONS["S2.lazy-limit"]
    stale = Registration(later.commit, "2026-11-01", {
        "cover-separability": ConfirmatorySeeds("2", {"paper": 20_240_601})})
    problems = history_problems("S9.none", stale, history)
    assert any("used before" in p for p in problems)
    assert any("dated" in p for p in problems) and any("not in" in p for p in problems)


def test_seed_pattern_matches_literals_only():
    import re

    pattern = re.compile(seed_pattern(20_261_261))
    assert pattern.search("{'paper': 20_261_261}") and pattern.search("x = 20261261")
    assert not pattern.search("120_261_261") and not pattern.search("20_261_2610")


def test_confirmatory_data_were_computed_at_or_after_the_registration(history):
    """A record computed before the registration commit (or of unknown commit) is not
    confirmatory, whatever its seed."""
    lazy = registry()["S2.lazy-limit"]
    commit = lazy.registration.commit
    parent = history("rev-parse", f"{commit}^").stdout.strip()
    assert lazy.data_kind("paper", {"lazy-limit": {commit}}) == "confirmatory"
    head = history("rev-parse", "HEAD").stdout.strip()
    assert lazy.data_kind("paper", {"lazy-limit": {commit, head}}) == "confirmatory"
    assert lazy.data_kind("paper", {"lazy-limit": {commit, parent}}) == "exploratory"
    assert lazy.data_kind("paper", {"lazy-limit": {None}}) == "exploratory"
    assert lazy.data_kind("paper", {"lazy-limit": {"0" * 40}}) == "exploratory"  # unknown


def code_fingerprint(source: str, class_name: str) -> str:
    """SHA-256 of a claim's code in its module: its class and every module-level statement
    except imports and other classes, with docstrings removed (comments never reach the
    AST)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    parts = [ast.dump(stmt) for stmt in tree.body
             if not isinstance(stmt, (ast.Import, ast.ImportFrom))
             and not (isinstance(stmt, ast.ClassDef) and stmt.name != class_name)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def code_changes(claim, since: str, git_command) -> list[str]:
    """The commits after ``since`` that changed the claim's code fingerprint."""
    path = str(Path(inspect.getsourcefile(type(claim))).resolve().relative_to(REPO))
    name = type(claim).__name__
    previous = code_fingerprint(git_command("show", f"{since}:{path}").stdout, name)
    changed = []
    for commit in git_command("rev-list", "--reverse", f"{since}..HEAD", "--",
                              path).stdout.split():
        current = code_fingerprint(git_command("show", f"{commit}:{path}").stdout, name)
        if current != previous:
            changed.append(commit)
        previous = current
    return changed


@pytest.mark.parametrize("claim_id", sorted(c for c, r in REGISTRATIONS.items()
                                            if r.confirmatory))
def test_every_change_to_a_registered_claims_code_is_declared(claim_id, history):
    """The statistic and tolerance are pinned: a commit after the registration that changes
    the claim's class or its module's code must be listed, with its reason, among the
    registration's amendments; and every amendment listed is such a commit."""
    claim = registry()[claim_id]
    registration = claim.registration
    changed = code_changes(claim, registration.commit, history)
    declared = [a.commit for a in registration.amendments]
    undeclared = [c[:10] for c in changed if not any(c.startswith(d) for d in declared)]
    unused = [d for d in declared if not any(c.startswith(d) for c in changed)]
    assert (undeclared, unused) == ([], []), claim_id


def test_the_fingerprint_sees_code_and_ignores_docstrings():
    source = 'X = 1\n\nclass A:\n    """doc"""\n    t = 0.5\n\nclass B:\n    u = 1\n'
    same = source.replace('"""doc"""', '"""other words"""').replace("u = 1", "u = 2")
    assert code_fingerprint(source, "A") == code_fingerprint(same, "A")
    assert code_fingerprint(source, "A") != code_fingerprint(source.replace("0.5", "0.05"), "A")
    assert code_fingerprint(source, "A") != code_fingerprint(source.replace("X = 1", "X = 2"),
                                                             "A")
