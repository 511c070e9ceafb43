"""Human rating: blind two-alternative forced choice pages and their analysis (``enhance rate``).

* :mod:`enhance.rating.page`: the self-contained HTML page (crops as data URIs, ``rate.js`` inline,
  no network) from two or more folders of images.
* :mod:`enhance.rating.votes`: the saved votes to win rates with Wilson intervals and
  Bradley-Terry strengths.
"""

from __future__ import annotations

from enhance.rating.page import RateOptions, RatePage, build_page
from enhance.rating.votes import Analysis, analyze, bradley_terry, read_votes, wilson

__all__ = ["Analysis", "RateOptions", "RatePage", "analyze", "bradley_terry", "build_page", "read_votes", "wilson"]
