"""Every study file refuses an argument it does not know (a typo such as `:runlocl` must not
train the full study and overwrite its page), with a one-line error naming the valid ones."""
import glob
import os

import pytest

from gan_jax import configs
from gan_jax.study import engine

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDIES = sorted(glob.glob(os.path.join(REPO, 'experiments', 'studies', '*.py')))


@pytest.mark.parametrize('path', STUDIES, ids=[os.path.basename(p)[:-3] for p in STUDIES])
def test_study_refuses_an_unknown_argument(path):
  with pytest.raises(configs.ConfigError) as error:
    engine.load(path, 'nope')
  message = str(error.value)
  assert "'nope'" in message and 'valid: ' in message and 'runlocal' in message
  assert '\n' not in message


def test_studies_are_found():
  assert len(STUDIES) >= 10
