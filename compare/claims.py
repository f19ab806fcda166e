"""The claim registry: named, checkable statements that tie theory to simulation.

A claim (e.g. ``S1.cover-finite-size``) has an id, a study (``S1`` ... ``S6``), a one-sentence
statement and four methods:

``theory()``
    the prediction, a :class:`Prediction`, from :mod:`jamming.theory` only;
``simulate(scale, runner)``
    the finite-size data, from :mod:`jamming.sweeps` grids through the results store;
``verdict(data)``
    a :class:`Verdict`: the measured discrepancy, the tolerance it is held to and why, and
    pass/fail;
``figure(data)``
    a matplotlib figure: theory as lines, simulation as markers with error bars.

Claims register themselves by being listed in a module of :data:`CLAIM_MODULES`; the modules
are imported on first use, so ``import jamming.compare.claims`` stays cheap.

Each claim is also *pre-registered*: :data:`jamming.compare.registrations.REGISTRATIONS`
records, per claim, the commit at which its prediction, statistic and tolerance were fixed
and the root seeds of its **confirmatory** data, drawn fresh for that registration (absent
from every earlier commit). Every other datum is **exploratory**: seen, or possibly seen,
while the claim was formulated. :meth:`Claim.data_kind` says which kind a verdict rests on
and ``jamming validate`` reports it; ``tests/claims/test_registrations.py`` checks the
rules against the sweeps and the git history (CONTRIBUTING.md, "Registering a claim").
"""

from __future__ import annotations

import abc
import fnmatch
import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from jamming.sweeps.runner import SweepRunner

#: Modules whose ``CLAIMS`` lists make up the registry.
CLAIM_MODULES = (
    "jamming.compare.jamming_linear",
    "jamming.compare.unsat",
    "jamming.compare.features",
    "jamming.compare.interpolation",
    "jamming.compare.generalization",
    "jamming.compare.support_vectors",
    "jamming.compare.trained_features",
    "jamming.compare.network_jamming",
    "jamming.compare.kernels",
    "jamming.compare.finite_width",
    "jamming.compare.random_features",
    "jamming.compare.large_steps",
    "jamming.compare.stochastic",
    "jamming.compare.diagonal_networks",
    "jamming.compare.sparse_features",
)


@dataclass(frozen=True)
class Prediction(Mapping):
    """What a claim's :meth:`Claim.theory` returns: the predicted values, by name.

    A read-only mapping from a name to a predicted number, array, or a function of the sweep's
    parameters that evaluates the prediction there (e.g. ``phi_c`` as a function of psi),
    all from :mod:`jamming.theory`: what the claim predicts, stated in one place (``jamming
    list`` and the tests read it; the verdict evaluates the same theory functions).

    Attributes
    ----------
    summary : str
        One line: what is predicted.
    values : Mapping[str, object]
        The named predictions.
    """

    summary: str
    values: Mapping[str, object]

    def __post_init__(self):
        if not self.summary or not self.values:
            raise ValueError("a Prediction needs a summary and at least one named value")

    def __getitem__(self, name: str):
        return self.values[name]

    def __iter__(self):
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking a claim.

    Attributes
    ----------
    quantity : str
        What ``predicted`` and ``measured`` are (plain text, one line).
    predicted, measured : float
        The theory's value and the simulation's.
    discrepancy : float
        The measured deviation, in the units of ``tolerance``.
    tolerance : float
        The largest acceptable ``discrepancy``.
    passed : bool
        The verdict (may combine several criteria; ``justification`` says which).
    justification : str
        Why this tolerance: standard errors, finite-size bias, false-alarm rate.
    details : dict
        Further statistics (test statistics, p-values, counts), JSON-serialisable.
    """

    quantity: str
    predicted: float
    measured: float
    discrepancy: float
    tolerance: float
    passed: bool
    justification: str
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ConfirmatorySeeds:
    """The data of one sweep that a registration reserved for confirmation.

    Attributes
    ----------
    version : str
        The sweep's ``version`` (:class:`~jamming.sweeps.spec.SweepSpec`) at registration: a
        simulator changed afterwards no longer produces the registered data.
    root_seeds : Mapping[str, int]
        Root seed per confirmatory scale (``paper``, ``full``; never ``quick``, the scale the
        tests run while a claim is written), drawn fresh for the registration.
    """

    version: str
    root_seeds: Mapping[str, int]

    def __post_init__(self):
        if not self.root_seeds or "quick" in self.root_seeds:
            raise ValueError("confirmatory root_seeds name the paper and/or full scale, never "
                             f"quick; got {dict(self.root_seeds)!r}")


@dataclass(frozen=True)
class Amendment:
    """A change to a registered claim's code after its registration commit, declared.

    Attributes
    ----------
    commit : str
        Hash (7 to 40 hex digits) of the commit that changed the claim's class or its
        module's code (docstrings aside).
    reason : str
        What changed and why it leaves the registered statistic and tolerance as they were
        (reported details, figure, table text, an equivalent refactor), or says that it
        does not.
    """

    commit: str
    reason: str


@dataclass(frozen=True)
class Registration:
    """When a claim's prediction, statistic and tolerance were fixed, and on which data.

    Attributes
    ----------
    commit : str
        Hash (7 to 40 hex digits) of the commit whose tree holds the claim as registered: its
        statement, statistic and tolerance, and the confirmatory root seeds, before any data
        drawn from those seeds existed.
    date : str
        That commit's date, ``YYYY-MM-DD`` (UTC).
    confirmatory : Mapping[str, ConfirmatorySeeds]
        Per sweep, the seeds reserved for confirmation. Empty: the claim has exploratory data
        only (its seeds were used while the package was written).
    note : str
        What was fixed, and for a re-registration what changed since the previous one and why.
    previous : tuple of Registration
        Earlier registrations of the claim, oldest first (kept for the record and the paper).
    amendments : tuple of Amendment
        Every later commit that changed the code of a claim with confirmatory data (the
        ledger tests compare the class and its module, docstrings aside, commit by commit).
    """

    commit: str
    date: str
    confirmatory: Mapping[str, ConfirmatorySeeds] = field(default_factory=dict)
    note: str = ""
    previous: tuple = ()
    amendments: tuple = ()

    def __post_init__(self):
        if not re.fullmatch(r"[0-9a-f]{7,40}", self.commit):
            raise ValueError(f"commit must be 7 to 40 lower-case hex digits; got {self.commit!r}")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", self.date):
            raise ValueError(f"date must be YYYY-MM-DD; got {self.date!r}")

    def as_json(self) -> dict:
        """``{"commit", "date", "note", "confirmatory": {sweep: {"version", "root_seeds"}},
        "previous": [...], "amendments": [{"commit", "reason"}]}``."""
        return {"commit": self.commit, "date": self.date, "note": self.note,
                "confirmatory": {name: {"version": seeds.version,
                                        "root_seeds": dict(seeds.root_seeds)}
                                 for name, seeds in self.confirmatory.items()},
                "previous": [r.as_json() for r in self.previous],
                "amendments": [{"commit": a.commit, "reason": a.reason}
                               for a in self.amendments]}


class Claim(abc.ABC):
    """Base class of a claim; subclasses set the class attributes and the four methods."""

    #: Unique id, ``"S<study>.<slug>"``.
    id: str
    #: One-sentence statement of what is claimed.
    statement: str
    #: Names of the sweeps that :meth:`simulate` runs (for ``jamming list``; the claim tests
    #: check it against the sweeps the runner actually ran).
    sweeps: tuple[str, ...] = ()
    #: What ``predicted`` and ``measured`` are, short, in LaTeX (the claims table's
    #: "quantity" column).
    table_quantity: str
    #: What ``discrepancy`` and ``tolerance`` are measured in, in LaTeX (``$|z|$``:
    #: standard errors; ``networks``: a count; ...).
    discrepancy_unit: str
    #: Established claims gate ``jamming validate`` (exit 1 when one fails). Open claims
    #: (hypotheses under test, including refuted ones) are checked and reported the same
    #: way but do not gate: their verdict is a result either way.
    gating: bool = True

    @property
    def study(self) -> str:
        """The study, ``S1`` ... ``S6``: the part of the id before the dot."""
        return self.id.split(".", 1)[0]

    @property
    def registration(self) -> Registration | None:
        """The claim's entry in :data:`jamming.compare.registrations.REGISTRATIONS`."""
        from jamming.compare.registrations import REGISTRATIONS

        return REGISTRATIONS.get(self.id)

    def data_kind(self, scale: str,
                  record_commits: Mapping[str, set] | None = None) -> str:
        """``"confirmatory"`` or ``"exploratory"``: the data a verdict at ``scale`` rests on.

        Confirmatory when the claim reads at least one sweep and, for every sweep it reads,
        its registration reserved this scale's root seed and the sweep still has that seed
        and version, and (given ``record_commits``, the ``git_commit`` of the records each
        sweep returned) every record was computed at the registration commit or a
        descendant of it (:func:`~jamming.sweeps.runner.commit_descends_from`; a record of
        unknown or unverifiable commit does not count). Exploratory otherwise: no
        registration, a claim without sampled data, the quick scale, seeds that changed
        after the registration, or records older than it.
        """
        from jamming.sweeps.catalog import get_sweep
        from jamming.sweeps.runner import commit_descends_from

        registration = self.registration
        reserved = registration.confirmatory if registration else {}
        confirmed = [
            name in reserved and reserved[name].version == get_sweep(name).version
            and reserved[name].root_seeds.get(scale) == get_sweep(name).root_seeds[scale]
            and (record_commits is None or all(
                isinstance(commit, str)
                and commit_descends_from(commit, registration.commit) is True
                for commit in record_commits.get(name, {None})))
            for name in self.sweeps]
        return "confirmatory" if confirmed and all(confirmed) else "exploratory"

    @abc.abstractmethod
    def theory(self) -> Prediction:
        """The prediction (no simulation)."""

    @abc.abstractmethod
    def simulate(self, scale: str, runner: SweepRunner):
        """The simulated data at ``scale``, through ``runner`` (cached in its store)."""

    @abc.abstractmethod
    def verdict(self, data) -> Verdict:
        """Compare ``data`` (from :meth:`simulate`) with :meth:`theory`."""

    @abc.abstractmethod
    def figure(self, data):
        """A matplotlib figure of theory (lines) against ``data`` (markers, error bars)."""


def registry() -> Mapping[str, Claim]:
    """All registered claims by id, in registration order."""
    claims: dict[str, Claim] = {}
    for module_name in CLAIM_MODULES:
        for claim in importlib.import_module(module_name).CLAIMS:
            if claim.id in claims:
                raise RuntimeError(f"claim id {claim.id!r} is registered twice")
            claims[claim.id] = claim
    return claims


def select(pattern: str | None = None) -> list[Claim]:
    """The claims whose id matches ``pattern``, in registration order.

    ``pattern`` is a comma-separated list of exact ids, studies (``S1`` matches ``S1.*``)
    and shell-style globs (``S1.cover*``), matched without regard to case
    (``s1.cover*,S4``); ``None`` selects every claim.

    Raises
    ------
    ValueError
        If a part of the list matches nothing, naming it and the known ids.
    """
    claims = list(registry().values())
    if pattern is None:
        return claims
    chosen: set[str] = set()
    for part in (p.strip() for p in pattern.split(",")):
        folded = part.lower()
        matches = {c.id for c in claims if folded in (c.id.lower(), c.study.lower())
                   or fnmatch.fnmatchcase(c.id.lower(), folded)}
        if not matches:
            known = ", ".join(c.id for c in claims)
            raise ValueError(f"no claim matches {part!r}; known claims: {known}")
        chosen |= matches
    return [c for c in claims if c.id in chosen]

