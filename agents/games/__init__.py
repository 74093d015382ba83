"""The model playing board games: move priors for PUCT, a value estimate, and internal search.

`GameLLMPolicy` turns one request per position into priors over the legal moves (from token
log-probabilities, else sampled frequencies) and into the model's own move; `GameLLMValue`
is the model's judgement of who is winning; `InternalSearch` has the model write a linearised
search tree in its reply and reads its chosen move. All read and write moves in the game's own
notation (environments/games/notation.py) and never play an illegal move.

The players built on them (and on no search controller) are in `treeagent.agents.games.players`,
imported by name: they need OpenSpiel, which this package does not.
"""

from __future__ import annotations

from treeagent.agents.games.internal import InternalSearch, InternalSearchResult, parse_search
from treeagent.agents.games.policy import GameLLMPolicy, MovePrior, notation_of, position_key
from treeagent.agents.games.priors import logprob_mass, normalise, sample_frequencies
from treeagent.agents.games.value import GameLLMValue

__all__ = [
    "GameLLMPolicy",
    "GameLLMValue",
    "InternalSearch",
    "InternalSearchResult",
    "MovePrior",
    "logprob_mass",
    "normalise",
    "notation_of",
    "parse_search",
    "position_key",
    "sample_frequencies",
]
