"""Token-sequence sources of the text application: batches of int32 token ids (B, L).

Every source has a `train` and a `test` split (the held-out data evaluators compare against) and a
`Vocabulary` (token id -> text, the end symbol, how tokens join), recorded in the workdir
(train.py: vocab.json) so a resumed run checks it reads the same tokens. Sources (`data.source`):
- `words`: English words of the `english-words` package (its web2 list: lower case, a-z only)
  of at most L - 1 letters, one character a token, each followed by the end symbol up to length
  L; a fixed seeded split (data.text.split_seed, heldout_fraction) keeps held-out words the GAN
  never sees. `language` holds the whole word set (the dictionary evaluators check against).
- `cfg`: sentences of a seeded probabilistic context-free grammar (sequences.random_grammar with
  data.text.grammar_seed, or Texygen's 'arithmetic' grammar), at most L tokens, padded with the
  end symbol; `language` holds the grammar (its exact membership test scores samples).
- `oracle`: sequences of length L of SeqGAN's random LSTM oracle (data.text.oracle_vocab tokens,
  oracle_seed); no end symbol. `language` holds the oracle's parameters (its exact NLL).
- `text_file:<path>`: a local UTF-8 file, each non-empty line cut into pieces of L characters,
  the last piece of a line padded with the end symbol; the vocabulary is the file's characters.
- `tfds_text:<name>`: a tensorflow-datasets text dataset (tiny_shakespeare, lm1b: a 'text'
  feature, data.text.feature), read through `tfds.data_source` when prepared (failing at once,
  as the image path does, when not): the texts of the first data.text.num_sequences examples of
  its 'train' split, as lines of characters exactly as a text file's (then split as every
  sequence source is: data.split picks this source's own 'train' or 'test').
The sequences are drawn once per config (data.text.num_sequences for cfg and oracle), then split.
"""
import dataclasses
import os
import re
from typing import Any, Optional

import ml_collections
import numpy as np

from gan_jax.data import sequences

TEXT_FILE_PREFIX = 'text_file:'
TFDS_TEXT_PREFIX = 'tfds_text:'
END = '<end>'  # The end symbol's text (words, cfg, text_file): it ends a row; the rest pads it.
GRAMMARS = ('random', 'arithmetic')  # data.text.grammar.
DEFAULT_LENGTHS = {'words': 12, 'cfg': 20, 'oracle': 20, 'text_file': 32, 'tfds_text': 32}
# What a failed tfds_text read suggests instead (tfds_source.builder_of / data_source's hint).
OFFLINE_TEXT_HINT = ('The offline sequence sources need no download: data.source=words, cfg, '
                     'oracle or text_file:<path>.')


@dataclasses.dataclass(frozen=True)
class Vocabulary:
  """Token id -> text. `end_id`: the end symbol (a row ends at its first; None: fixed-length
  rows, as the oracle's); `separator` joins decoded tokens ('' for characters)."""
  tokens: tuple
  end_id: Optional[int]
  separator: str

  @property
  def size(self) -> int:
    return len(self.tokens)

  def strip(self, row) -> tuple:
    """The token ids of one row up to (not including) its first end symbol."""
    row = [int(t) for t in row]
    if self.end_id is not None and self.end_id in row:
      row = row[:row.index(self.end_id)]
    return tuple(row)

  def decode(self, row) -> str:
    return self.separator.join(self.tokens[t] for t in self.strip(row))

  def to_json(self) -> dict:
    return {'tokens': list(self.tokens), 'end_id': self.end_id, 'separator': self.separator}


@dataclasses.dataclass(frozen=True)
class Corpus:
  """A sequence source before it becomes Datasets: rows of token ids and what scores them."""
  train_NxL: np.ndarray  # int32 (N, L)
  test_NxL: np.ndarray
  vocab: Vocabulary
  language: Any = None


def defaults() -> ml_collections.ConfigDict:
  """The data.text section: the sequence sources' fields."""
  t = ml_collections.ConfigDict()
  t.length = 0  # Tokens a row (L); 0: the source's default (DEFAULT_LENGTHS).
  t.heldout_fraction = 0.1  # Of the sequences, held out as the test split.
  t.split_seed = 0
  t.num_sequences = 10000  # cfg, oracle: sequences drawn (SeqGAN's 10,000); tfds_text: examples.
  t.feature = 'text'  # tfds_text: the dataset's text feature.
  t.grammar = 'random'  # cfg: 'random' (seeded PCFG) or 'arithmetic' (Texygen's).
  t.grammar_seed = 0
  t.oracle_vocab = 5000  # oracle: V (SeqGAN: 5,000).
  t.oracle_hidden = 32
  t.oracle_seed = 0
  return t


def source_kind(source) -> Optional[str]:
  """'words' | 'cfg' | 'oracle' | 'text_file' | 'tfds_text' for a sequence source name, else
  None."""
  if isinstance(source, str) and source.startswith(TEXT_FILE_PREFIX):
    return 'text_file'
  if isinstance(source, str) and source.startswith(TFDS_TEXT_PREFIX):
    return 'tfds_text'
  return source if source in ('words', 'cfg', 'oracle') else None


def length(data_config) -> int:
  t = data_config.text
  return t.length or DEFAULT_LENGTHS[source_kind(data_config.source)]


def _split(rows_NxL: np.ndarray, data_config) -> tuple:
  """(train, test) rows: the fixed seeded split; a clear error when either would be empty."""
  from gan_jax.data import DataError
  t = data_config.text
  train, test = sequences.split(rows_NxL, t.heldout_fraction, t.split_seed)
  if len(train) < 1 or len(test) < 1:
    more = {'text_file': 'Give more text, or lower data.text.length (more pieces a line)',
            'words': 'Raise data.text.length (longer words are kept)'}.get(
                source_kind(data_config.source), 'Raise data.text.num_sequences')
    raise DataError(f'data.source={data_config.source}: {len(rows_NxL)} sequence(s) of '
                    f'{length(data_config)} tokens make {len(train)} train and {len(test)} '
                    f'held-out (data.text.heldout_fraction={t.heldout_fraction}); each split '
                    f'needs one at least. {more}.')
  return train, test


def dictionary() -> frozenset:
  """The web2 word list of `english-words`, lower case, a-z words only."""
  try:
    from english_words import get_english_words_set
  except ImportError as e:
    raise ImportError('data.source=words needs the english-words package: run `make install` '
                      '(it is in requirements.txt).') from e
  return frozenset(w for w in get_english_words_set(['web2'], lower=True)
                   if re.fullmatch('[a-z]+', w))


def words_corpus(data_config) -> Corpus:
  size = length(data_config)
  letters = tuple('abcdefghijklmnopqrstuvwxyz')
  vocab = Vocabulary(letters + (END,), end_id=len(letters), separator='')
  all_words = dictionary()
  kept = sorted(w for w in all_words if len(w) < size)
  index = {c: i for i, c in enumerate(letters)}
  rows = sequences.pad_sentences([[index[c] for c in w] for w in kept], size, vocab.end_id)
  train, test = _split(rows, data_config)
  return Corpus(train, test, vocab, language={'dictionary': all_words})


def cfg_corpus(data_config) -> Corpus:
  t, size = data_config.text, length(data_config)
  grammar = (sequences.arithmetic_grammar() if t.grammar == 'arithmetic'
             else sequences.random_grammar(t.grammar_seed))
  if sequences.min_length(grammar) > size:
    from gan_jax.data import DataError
    raise DataError(f'data.text.length={size}: the {t.grammar} grammar\'s shortest sentence has '
                    f'{sequences.min_length(grammar)} tokens. Raise data.text.length.')
  sentences = sequences.sample_sentences(grammar, t.num_sequences, seed=t.split_seed + 1,
                                         max_len=size)
  vocab = Vocabulary(tuple(grammar.terminals) + (END,), end_id=len(grammar.terminals),
                     separator=' ')
  train, test = _split(sequences.pad_sentences(sentences, size, vocab.end_id), data_config)
  return Corpus(train, test, vocab, language={'grammar': grammar})


def oracle_corpus(data_config) -> Corpus:
  t, size = data_config.text, length(data_config)
  params = sequences.oracle_params(t.oracle_seed, vocab=t.oracle_vocab, hidden=t.oracle_hidden,
                                   embed=t.oracle_hidden)
  rows = sequences.oracle_sample(params, t.num_sequences, length=size, seed=t.split_seed + 1)
  vocab = Vocabulary(tuple(str(i) for i in range(t.oracle_vocab)), end_id=None, separator=' ')
  train, test = _split(rows, data_config)
  return Corpus(train, test, vocab, language={'oracle_params': params})


def read_text_file(path: str) -> str:
  """The file's text; a clear error for a missing, unreadable, non-UTF-8 or empty file."""
  from gan_jax.data import DataError
  where = f'data.source={TEXT_FILE_PREFIX}{path}'
  if not os.path.isfile(path):
    raise DataError(f'{where}: no such file. Give the path of a UTF-8 text file.')
  try:
    with open(path, encoding='utf-8') as f:
      text = f.read()
  except UnicodeDecodeError as e:
    raise DataError(f'{where}: not UTF-8 ({e}). Convert it, e.g. `iconv -t utf-8`.') from e
  if not text.strip():
    raise DataError(f'{where}: the file is empty (or only whitespace). Give a file with text.')
  return text


def text_file_corpus(data_config) -> Corpus:
  return character_corpus(read_text_file(data_config.source[len(TEXT_FILE_PREFIX):]),
                          data_config)


def tfds_text_corpus(data_config) -> Corpus:
  """The texts of the first data.text.num_sequences examples of a prepared tfds dataset."""
  from gan_jax.data import DataError
  from gan_jax.data import tfds_source
  name, feature = data_config.source[len(TFDS_TEXT_PREFIX):], data_config.text.feature
  builder = tfds_source.builder_of(name, data_config, OFFLINE_TEXT_HINT)
  if feature not in builder.info.features:
    raise DataError(f'{data_config.source} has no feature {feature!r} (data.text.feature); its '
                    f'features: {sorted(builder.info.features.keys())}.')
  ds = tfds_source.data_source(name, builder, 'train', data_config, OFFLINE_TEXT_HINT)
  texts = [ds[i][feature] for i in range(min(len(ds), data_config.text.num_sequences))]
  text = '\n'.join(t.decode('utf-8') if isinstance(t, bytes) else str(t) for t in texts)
  if not text.strip():
    raise DataError(f'{data_config.source}: its {feature!r} texts are empty.')
  return character_corpus(text, data_config)


def character_corpus(text: str, data_config) -> Corpus:
  """Each non-empty line of `text` cut into pieces of L characters; its characters are the
  vocabulary, plus the end symbol."""
  size = length(data_config)
  lines = [ln for ln in text.splitlines() if ln.strip()]
  pieces = [ln[i:i + size] for ln in lines for i in range(0, len(ln), size)]
  chars = tuple(sorted({c for p in pieces for c in p}))
  vocab = Vocabulary(chars + (END,), end_id=len(chars), separator='')
  index = {c: i for i, c in enumerate(chars)}
  rows = sequences.pad_sentences([[index[c] for c in p] for p in pieces], size, vocab.end_id)
  train, test = _split(rows, data_config)
  return Corpus(train, test, vocab, language=None)


CORPORA = {'words': words_corpus, 'cfg': cfg_corpus, 'oracle': oracle_corpus,
           'text_file': text_file_corpus, 'tfds_text': tfds_text_corpus}


def problems(data_config) -> list:
  """Every problem of data.text for a sequence source (names the field and its valid values)."""
  from gan_jax.validation import failed, is_int
  t = data_config.text
  return failed([
      (is_int(t.length) and t.length >= 0,
       f'data.text.length must be an integer >= 0 (0: the source\'s default), got {t.length!r}.'),
      (isinstance(t.heldout_fraction, float) and 0 < t.heldout_fraction < 1,
       f'data.text.heldout_fraction must be in (0, 1), got {t.heldout_fraction!r}.'),
      (is_int(t.num_sequences) and t.num_sequences >= 2,
       f'data.text.num_sequences must be an integer >= 2, got '
       f'{t.num_sequences!r}.'),
      (t.grammar in GRAMMARS, f'Unknown data.text.grammar {t.grammar!r}; valid: {list(GRAMMARS)}.'),
      (is_int(t.oracle_vocab) and t.oracle_vocab >= 2,
       f'data.text.oracle_vocab must be an integer >= 2, got {t.oracle_vocab!r}.'),
      (is_int(t.oracle_hidden) and t.oracle_hidden >= 1,
       f'data.text.oracle_hidden must be a positive integer, got {t.oracle_hidden!r}.'),
      (source_kind(data_config.source) != 'tfds_text' or
       bool(data_config.source[len(TFDS_TEXT_PREFIX):]),
       f'data.source={data_config.source!r} names no dataset; use tfds_text:<name>, e.g. '
       'tfds_text:tiny_shakespeare.'),
      (data_config.get('image_size') is None,
       f'data.image_size applies to images; {data_config.source!r} is token sequences. Unset '
       'it.')])
