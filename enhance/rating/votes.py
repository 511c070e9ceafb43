"""Reading the votes of ``enhance rate`` pages, and what they say: win rates and Bradley-Terry scores.

    votes = read_votes([Path("votes-1.json"), Path("votes-2.json")])
    result = analyze(votes)
    result.methods[0].win_rate, result.methods[0].interval, result.methods[0].strength

* Win rate of a method: its wins over its comparisons, with the 95 % Wilson score interval
  (:func:`wilson`; sound for small counts and rates near 0 or 1, unlike the normal approximation).
  The same per pair of methods.
* Bradley-Terry strengths ``p`` (``P(i beats j) = p_i / (p_i + p_j)``, normalised to sum to 1),
  fitted by maximum likelihood with Hunter's (2004) MM iteration
  ``p_i <- W_i / sum_j n_ij / (p_i + p_j)``. The maximum exists only when every split of the methods
  into two groups has a win each way; when it does not (a method that never lost, say), every pair
  that met gets half a win each way as a prior, and the result says so.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from enhance.errors import InvalidInputError
from enhance.rating.page import VOTES_FORMAT

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Vote:
    winner: str
    loser: str
    image: str
    source: str  # the votes file and rater


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (``(0, 1)`` when ``n`` is 0)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def read_votes(paths: list[Path]) -> tuple[list[Vote], list[str]]:
    """The votes in the files (``enhance-rate-votes/1``) and their method names, in first-seen order."""
    votes: list[Vote] = []
    methods: list[str] = []
    for path in paths:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InvalidInputError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InvalidInputError(f"{path}: not a readable JSON votes file ({exc})") from None
        if not isinstance(doc, dict) or doc.get("format") != VOTES_FORMAT:
            raise InvalidInputError(f"{path}: not an enhance rate votes file (format {VOTES_FORMAT!r})")
        for m in doc.get("methods", []):
            if m not in methods:
                methods.append(str(m))
        who = f"{path.name}" + (f" ({doc['rater']})" if doc.get("rater") else "")
        for i, v in enumerate(doc.get("votes", [])):
            try:
                winner, loser = str(v["winner"]), str(v["loser"])
            except (TypeError, KeyError):
                raise InvalidInputError(f"{path}: vote {i} has no winner / loser") from None
            if winner == loser or winner not in methods or loser not in methods:
                raise InvalidInputError(f"{path}: vote {i} compares {winner!r} with {loser!r}, not two of its methods")
            votes.append(Vote(winner, loser, str(v.get("image", "")), who))
    return votes, methods


def bradley_terry(wins: np.ndarray, tol: float = 1e-10, max_iter: int = 100_000) -> tuple[np.ndarray, bool]:
    """Strengths (summing to 1) from ``wins[i, j]`` = times i beat j, and whether a prior was needed."""
    w = np.asarray(wins, dtype=np.float64)
    k = len(w)
    prior = not _strongly_connected(w)
    if prior:
        met = (w + w.T) > 0
        w = w + 0.5 * met
    n = w + w.T
    total = w.sum(1)
    p = np.full(k, 1.0 / k)
    for _ in range(max_iter):
        denom = (n / (p[:, None] + p[None, :])).sum(1)
        new = np.where(denom > 0, total / np.where(denom > 0, denom, 1.0), p)
        new /= new.sum()
        if np.abs(new - p).max() < tol:
            p = new
            break
        p = new
    return p, prior


def _strongly_connected(w: np.ndarray) -> bool:
    """Whether every method can be reached from every other along 'beat' edges."""
    k = len(w)
    for graph in (w > 0, (w > 0).T):
        seen = {0}
        todo = [0]
        while todo:
            i = todo.pop()
            for j in np.flatnonzero(graph[i]):
                if int(j) not in seen:
                    seen.add(int(j))
                    todo.append(int(j))
        if len(seen) < k:
            return False
    return True


@dataclass(frozen=True)
class MethodResult:
    name: str
    wins: int
    comparisons: int
    win_rate: float
    interval: tuple[float, float]
    strength: float


@dataclass(frozen=True)
class PairResult:
    a: str
    b: str
    a_wins: int
    comparisons: int
    rate: float
    interval: tuple[float, float]
    predicted: float  # P(a beats b) from the Bradley-Terry strengths


@dataclass
class Analysis:
    methods: list[MethodResult]
    pairs: list[PairResult]
    n_votes: int
    sources: list[str]
    prior: bool
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "n_votes": self.n_votes, "sources": self.sources, "bradley_terry_prior": self.prior,
            "methods": [{"name": m.name, "wins": m.wins, "comparisons": m.comparisons, "win_rate": m.win_rate,
                         "ci95": list(m.interval), "bradley_terry": m.strength} for m in self.methods],
            "pairs": [{"a": p.a, "b": p.b, "a_wins": p.a_wins, "comparisons": p.comparisons, "rate": p.rate,
                       "ci95": list(p.interval), "bradley_terry": p.predicted} for p in self.pairs],
            "notes": self.notes,
        }


def analyze(votes: list[Vote], methods: list[str]) -> Analysis:
    """Win rates (95 % Wilson intervals) per method and per pair, and Bradley-Terry strengths."""
    if not votes:
        raise InvalidInputError("no votes to analyse")
    index = {m: i for i, m in enumerate(methods)}
    wins = np.zeros((len(methods), len(methods)), dtype=np.int64)
    for v in votes:
        wins[index[v.winner], index[v.loser]] += 1
    strengths, prior = bradley_terry(wins)
    results = []
    for i, m in enumerate(methods):
        won, n = int(wins[i].sum()), int(wins[i].sum() + wins[:, i].sum())
        results.append(MethodResult(m, won, n, won / n if n else float("nan"), wilson(won, n), float(strengths[i])))
    results.sort(key=lambda r: -r.strength)
    pairs = []
    for i, j in combinations(range(len(methods)), 2):
        n = int(wins[i, j] + wins[j, i])
        if n == 0:
            continue
        if strengths[j] > strengths[i]:
            i, j = j, i
        k = int(wins[i, j])
        pairs.append(PairResult(methods[i], methods[j], k, n, k / n, wilson(k, n),
                                float(strengths[i] / (strengths[i] + strengths[j]))))
    notes = []
    if prior:
        notes.append("Bradley-Terry: some method never won or never lost against the rest, so the maximum-likelihood "
                     "fit does not exist; every pair that met got half a win each way as a prior")
    unused = [m for m in methods if not (wins[index[m]].sum() + wins[:, index[m]].sum())]
    if unused:
        notes.append(f"no votes for {', '.join(unused)}")
    sources = sorted({v.source for v in votes})
    return Analysis(results, pairs, len(votes), sources, prior, notes)
