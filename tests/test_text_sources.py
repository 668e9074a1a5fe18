"""The token-sequence sources (gan_jax/data/text_sources.py) through the data registry."""
import json
import os

import numpy as np
import pytest

from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax import workdir as workdir_lib
from gan_jax.data import sequences
from gan_jax.data import text_sources


def _config(source, **text):
  config = configs.base_config()
  config.data.source = source
  for k, v in text.items():
    config.data.text[k] = v
  configs.validate(config)
  return config


def _rows(source, split):
  d = source.splits[split]
  return d.get(np.arange(d.size))


def test_words_are_real_lowercase_words_split_without_overlap():
  source = data_lib.get_source(_config('words').data)
  vocab = source.vocab
  assert vocab.tokens[:26] == tuple('abcdefghijklmnopqrstuvwxyz') and vocab.size == 27
  train = {vocab.decode(r) for r in _rows(source, 'train')}
  test = {vocab.decode(r) for r in _rows(source, 'test')}
  dictionary = source.language['dictionary']
  assert not train & test  # Held-out words are never trained on.
  assert train | test <= dictionary
  assert {'cat', 'house', 'zebra'} <= train | test
  assert max(map(len, train | test)) == 11  # Length 12 rows: 11 letters and the end symbol.
  assert abs(len(test) / (len(train) + len(test)) - 0.1) < 1e-3
  row = _rows(source, 'train')[0]
  assert row.dtype == np.int32 and row[len(vocab.decode(row))] == vocab.end_id


def test_cfg_rows_are_grammar_sentences_and_oracle_rows_its_samples():
  source = data_lib.get_source(_config('cfg', num_sequences=300, grammar='arithmetic').data)
  grammar, vocab = source.language['grammar'], source.vocab
  rows = _rows(source, 'train')
  assert rows.shape == (270, 20) and vocab.tokens[:7] == grammar.terminals
  assert sequences.acceptance_rate(grammar, rows, vocab.end_id) == 1.0
  config = _config('oracle', num_sequences=40, oracle_vocab=11, length=7)
  oracle = data_lib.get_source(config.data)
  params = oracle.language['oracle_params']
  expected = sequences.oracle_sample(params, 40, length=7, seed=1)
  got = np.concatenate([_rows(oracle, 'train'), _rows(oracle, 'test')])
  assert sorted(map(tuple, got)) == sorted(map(tuple, expected))
  assert oracle.vocab.end_id is None and oracle.vocab.size == 11


def test_text_file_cuts_lines_into_pieces(tmp_path):
  path = tmp_path / 'corpus.txt'
  path.write_text('abcdefg\n\nxy\n' + 'hello\n' * 8, encoding='utf-8')
  config = _config(f'text_file:{path}', length=4)
  source = data_lib.get_source(config.data)
  texts = sorted(source.vocab.decode(r) for s in ('train', 'test') for r in _rows(source, s))
  assert texts == sorted(['abcd', 'efg', 'xy'] + ['hell', 'o'] * 8)
  assert source.vocab.tokens[-1] == text_sources.END
  assert set(source.vocab.tokens[:-1]) == set('abcdefghlxyo')


@pytest.mark.parametrize('content, message', [
    (None, 'no such file'), ('', 'empty'), (b'\xff\xfe bad', 'not UTF-8'), ('ab', 'held-out')])
def test_text_file_bad_input_names_the_problem(tmp_path, content, message):
  path = tmp_path / 'corpus.txt'
  if isinstance(content, bytes):
    path.write_bytes(content)
  elif content is not None:
    path.write_text(content, encoding='utf-8')
  config = _config(f'text_file:{path}')
  with pytest.raises(data_lib.DataError, match=message):
    data_lib.get_source(config.data)


def test_bad_text_fields_fail_validation():
  config = configs.base_config()
  config.data.source = 'cfg'
  config.data.text.grammar = 'bogus'
  config.data.text.heldout_fraction = 1.5
  with pytest.raises(configs.ConfigError) as e:
    configs.validate(config)
  assert "data.text.grammar 'bogus'" in str(e.value) and 'heldout_fraction' in str(e.value)
  config = configs.base_config()
  config.data.source = 'text_file'  # Without a path: not a source.
  with pytest.raises(configs.ConfigError, match='text_file:<path>'):
    configs.validate(config)
  config.data.source = 'tfds_text:'
  with pytest.raises(configs.ConfigError, match="names no dataset; use tfds_text:<name>"):
    configs.validate(config)


def test_vocabulary_mismatch_on_resume_is_refused(tmp_path):
  vocab = text_sources.Vocabulary(('a', 'b', text_sources.END), end_id=2, separator='')
  workdir_lib.check_vocab(str(tmp_path), vocab.to_json())  # Nothing recorded: fine.
  workdir_lib.write_vocab(str(tmp_path), vocab.to_json())
  workdir_lib.check_vocab(str(tmp_path), vocab.to_json())
  with open(tmp_path / 'vocab.json') as f:
    assert json.load(f)['tokens'] == ['a', 'b', text_sources.END]
  other = text_sources.Vocabulary(('a', 'c', text_sources.END), end_id=2, separator='')
  with pytest.raises(workdir_lib.WorkdirError, match=r"\['b', 'c'\]"):
    workdir_lib.check_vocab(str(tmp_path), other.to_json())
  assert os.path.exists(tmp_path / 'vocab.json')  # Nothing written is lost.


def test_tfds_text_reads_a_prepared_text_dataset_as_character_lines():
  import tensorflow_datasets as tfds
  with tfds.testing.mock_data(num_examples=6):
    config = _config('tfds_text:tiny_shakespeare', length=8, num_sequences=4)
    builder = tfds.builder('tiny_shakespeare')
    ds = builder.as_data_source(split='train')
    texts = [t.decode() if isinstance(t, bytes) else t for t in (ds[i]['text'] for i in range(4))]
    source = data_lib.get_source(config.data)
  lines = [ln for t in texts for ln in t.splitlines() if ln.strip()]
  pieces = sorted(ln[i:i + 8] for ln in lines for i in range(0, len(ln), 8))
  got = sorted(source.vocab.decode(r) for s in ('train', 'test') for r in _rows(source, s))
  assert got == pieces  # The first 4 examples only (data.text.num_sequences).
  assert set(source.vocab.tokens[:-1]) == {c for p in pieces for c in p}
  with tfds.testing.mock_data(num_examples=2):
    config = _config('tfds_text:tiny_shakespeare')
    config.data.text.feature = 'txt'
    with pytest.raises(data_lib.DataError, match=r"no feature 'txt'.*\['text'\]"):
      data_lib.get_source(config.data)


def test_tfds_text_unprepared_or_unknown_fails_fast(tmp_path):
  import time
  config = _config('tfds_text:tiny_shakespeare')
  config.data.data_dir = str(tmp_path)
  start = time.time()
  with pytest.raises(data_lib.DataError, match='not prepared under data.data_dir'):
    data_lib.get_source(config.data)
  assert time.time() - start < 30
  with pytest.raises(data_lib.DataError, match='has no dataset'):
    data_lib.get_source(_config('tfds_text:no_such_text_dataset').data)
