"""Your own images: `folder:<path>` (one subfolder per class) and `npz:<path>` (arrays).

- `folder:PATH`: the ImageFolder layout of torchvision and of tfds' `ImageFolder` builder:
  PATH/<class>/<image> (deeper subfolders of a class folder belong to it, symbolic links to
  folders included, each real folder read once; files and folders whose names start with '.'
  are ignored; files beside the class folders are not read, said in one warning). Classes are
  the subfolder names, sorted: label i is the i-th. If PATH holds `train/` and one of `test/`,
  `val/`, `valid/`, those are the splits (each with its class folders; every test class must
  have training images); top-level folders that are all split names in another combination
  are refused. Otherwise a seeded stratified `data.test_fraction` of each class is the 'test'
  split (each class by its own seed; at least one image of a class stays in 'train'). Images of
  any format PIL reads are decoded once with PIL (EXIF orientation applied; 16- and 32-bit
  grayscale brought to 8 bits by `to_8bit`; no TensorFlow), converted to `data.channels` (None:
  1 if every image is grayscale, else 3; a folder of mixed channel counts is converted and says
  so once), resized to `data.image_size` (a centre square crop, then Lanczos: antialiased;
  None: every image must have one size), and cached as arrays under the user's cache directory
  (offline.cache_dir: $GAN_JAX_CACHE, else $XDG_CACHE_HOME/gan_jax, else ~/.cache/gan_jax;
  one that cannot be written is a warning), keyed by the folder's content (every file's name,
  size and modification time): a changed file is decoded again, the stale cache removed. A file
  PIL cannot read, or that is not a regular file (a broken symbolic link, a named pipe: never
  opened), is refused (`data.bad_files='error'`, the default) or skipped and counted ('skip').
- `npz:PATH`: an .npz (np.savez) with `x` (N, H, W[, C]) uint8 0..255 or float 0..1, optionally
  `y` (N,) integer labels 0..K-1 (every class with examples), and optionally `x_test` / `y_test`
  (the 'test' split; without them the split is a stratified `data.test_fraction`, as a folder's).
  Read with allow_pickle=False; resized and converted as a folder's images.

`problems(config)` checks what can be checked without decoding images (paths, class folders,
the .npz's arrays and labels, a conditional run's classes), before anything is built; the
loaders check the rest (undecodable files, sizes, ranges) before anything compiles. Both give
one line naming the file or folder and the fix. `load(data_config)` returns the uint8 splits.
"""
import hashlib
import json
import os
import zipfile
from typing import Optional

from absl import logging
import numpy as np

from gan_jax import atomic_files
from gan_jax.data import offline
from gan_jax.validation import is_int, is_real

FOLDER_PREFIX = 'folder:'  # data.source='folder:<path>'.
NPZ_PREFIX = 'npz:'  # data.source='npz:<path>'.
BAD_FILES = ('error', 'skip')  # data.bad_files.
CHANNELS = (1, 3)  # data.channels (or None: the images' own).
SPLIT_SEED = 0x0DA7A  # The stratified split's seed (a folder's or an .npz's without x_test).
CACHE_VERSION = 2  # Part of the cache key: raise it when the decoding changes.
GRAY_MODES = ('1', 'L', 'LA', 'La', 'I', 'I;16', 'I;16L', 'I;16B', 'I;16N', 'F')  # One channel.
TEST_DIRS = ('test', 'val', 'valid')  # A folder's test split, beside train/ (one of them).
SPLIT_DIRS = ('train',) + TEST_DIRS
NPZ_HINT = 'save it with np.savez(path, x=images (N, H, W[, C]) uint8, y=labels (N,) int)'


def kind(source) -> Optional[str]:
  """'folder' or 'npz' for an own-data source name, else None."""
  for name, prefix in (('folder', FOLDER_PREFIX), ('npz', NPZ_PREFIX)):
    if isinstance(source, str) and source.startswith(prefix):
      return name
  return None


def path_of(source: str) -> str:
  return os.path.expanduser(source.split(':', 1)[1])


def _error(message: str) -> Exception:
  from gan_jax.data import DataError  # Here, not above: gan_jax.data imports this module.
  return DataError(message)


def field_problems(d) -> list[str]:
  """The problems of the fields this module adds to the data section."""
  tf = d.get('test_fraction', 0.1)  # Absent: a config written before these fields existed.
  ch = d.get('channels')
  return [m for ok, m in [
      (is_real(tf) and 0 < tf < 1,
       f'data.test_fraction must be a number in (0, 1) (the share of each class held out as the '
       f'test split of a folder: or npz: source), got {tf!r}.'),
      (ch is None or (is_int(ch) and ch in CHANNELS),
       f'data.channels must be 1, 3 or None (the images\' own), got {ch!r}.'),
      (d.get('bad_files', 'error') in BAD_FILES,
       f'data.bad_files must be one of {list(BAD_FILES)} (a file of a folder: source that is not '
       f'an image), got {d.get("bad_files")!r}.')] if not ok]


def problems(config) -> list[str]:
  """Every problem of an own-data source found without decoding images (none for others)."""
  source = config.data.source
  if kind(source) is None:
    return []
  if not source.split(':', 1)[1]:
    return [f'data.source={source!r} needs a path: {source}PATH.']
  conditional = bool(config.get('model', {}).get('conditional', False))
  check = folder_problems if kind(source) == 'folder' else npz_problems
  return check(path_of(source), conditional)


# --- Converting images (both sources) ---------------------------------------------------------


def to_8bit(img):
  """PIL's one-channel modes of more than 8 bits as 'L' (PIL's own convert('L') clips them at
  255): 'I;16*' by its top 8 bits (>> 8); 'I' (what PIL makes of 16-bit PNG, PGM or TIFF) by
  the 16-bit range too, values outside 0..65535 clipped; 'F' as 0..1 when every value is in
  [0, 1], else by the 16-bit range as 'I'. Fixed ranges, not each image's own, so that images
  keep their brightness relative to each other. Other modes are returned as they are."""
  from PIL import Image
  if not (img.mode.startswith('I;16') or img.mode in ('I', 'F')):
    return img
  x = np.asarray(img)
  if img.mode == 'F' and np.all((x >= 0) & (x <= 1)):
    return Image.fromarray(np.round(x * 255.0).astype(np.uint8), 'L')
  x = np.clip(np.nan_to_num(np.asarray(x, np.float64)), 0, 65535).astype(np.uint16)
  return Image.fromarray((x >> 8).astype(np.uint8), 'L')


def fit(img, size: Optional[int], channels: int) -> np.ndarray:
  """A PIL image as uint8 (H, W, channels): brought to 8 bits (`to_8bit`), converted ('L' or
  'RGB', alpha dropped), then, when `size` is set, centre-cropped to a square and resized to
  size x size (Lanczos, antialiased)."""
  from PIL import Image
  img = to_8bit(img).convert('L' if channels == 1 else 'RGB')
  w, h = img.size
  if size and (w, h) != (size, size):
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    if w != h:
      img = img.crop((left, top, left + s, top + s))
    if s != size:
      img = img.resize((size, size), Image.Resampling.LANCZOS)
  array = np.asarray(img, np.uint8)
  return array[..., None] if array.ndim == 2 else array


def fit_arrays(images_NxHxWxC: np.ndarray, size: Optional[int], channels: int) -> np.ndarray:
  """`fit` of every image of a uint8 array (through PIL only when something changes)."""
  from PIL import Image
  n, h, w, c = images_NxHxWxC.shape
  if c == channels and (not size or (h, w) == (size, size)):
    return images_NxHxWxC
  return np.stack([fit(Image.fromarray(img[..., 0] if c == 1 else img), size, channels)
                   for img in images_NxHxWxC])


def stratified_split(labels_N: np.ndarray, test_fraction: float, where: str) -> tuple:
  """(train indices, test indices), sorted: round-half-up `test_fraction` of each class, a class's
  last image always kept for training. Each class is shuffled by its own seed (SPLIT_SEED, its
  label), so its split depends on its own images only: adding images to one class leaves the
  others' splits as they were. (offline.stratified_split, mnist5k's and digits', draws every
  class from one generator; kept so, as their published splits depend on it.)"""
  train, test = [], []
  for c in np.unique(labels_N):
    rng = np.random.default_rng([SPLIT_SEED, int(c)])
    idx = rng.permutation(np.flatnonzero(labels_N == c))
    n_test = min(int(np.floor(len(idx) * test_fraction + 0.5)), len(idx) - 1)
    test.append(idx[:n_test])
    train.append(idx[n_test:])
  train, test = np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
  if not len(test):
    raise _error(f'{where}: {len(labels_N)} images leave no test image at data.test_fraction='
                 f'{test_fraction}; raise data.test_fraction, or add images.')
  return train, test


def _splits(images, labels, test_fraction, where) -> dict:
  """{'train': (images, labels), 'test': ...} by the stratified split (labels None: unlabelled,
  split as one class)."""
  train, test = stratified_split(np.zeros(len(images)) if labels is None else labels,
                                 test_fraction, where)
  pick = lambda idx: (images[idx], None if labels is None else labels[idx])
  return {'train': pick(train), 'test': pick(test)}


# --- folder:PATH ------------------------------------------------------------------------------


def _subdirs(path: str) -> list[str]:
  return sorted(e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith('.'))


def _walk(path: str):
  """(folder, its visible entries that are not folders) of `path` and of every visible folder
  under it, through symbolic links to folders; a folder reached again (by a link loop, or by two
  links to it) is read the first time only."""
  seen = set()
  for dirpath, dirnames, filenames in os.walk(path, followlinks=True):
    real = os.path.realpath(dirpath)
    if real in seen:
      dirnames[:] = []
      continue
    seen.add(real)
    dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
    yield dirpath, [f for f in filenames if not f.startswith('.')]


def _files(path: str) -> list[str]:
  """Every visible entry under `path` that is not a folder (`_walk`), sorted, as paths relative
  to it: the regular files are the images; the rest (a broken symbolic link, a named pipe, a
  device) are bad files, which `_open` refuses without reading them."""
  out = []
  for dirpath, filenames in _walk(path):
    rel = os.path.relpath(dirpath, path)
    out += [os.path.normpath(os.path.join(rel, f)) for f in filenames]
  return sorted(out)


def _has_file(path: str) -> bool:
  """Whether `path` holds a visible entry that is not a folder (stops at the first)."""
  return any(filenames for _, filenames in _walk(path))


def layout(root: str) -> dict:
  """{split: the folder holding its class folders}: PATH/train and PATH's one test folder
  (test/, val/ or valid/) when PATH holds both, else {None: PATH} (split by
  data.test_fraction)."""
  subdirs = _subdirs(root)
  tests = [d for d in TEST_DIRS if d in subdirs]
  if 'train' in subdirs and len(tests) == 1:
    return {'train': os.path.join(root, 'train'), 'test': os.path.join(root, tests[0])}
  return {None: root}


def _layout_problem(root: str, where: str) -> Optional[str]:
  """Split folders in another combination than train/ and one test folder: train/ beside two
  test folders, or top-level folders that are all split names (then read as classes)."""
  subdirs = _subdirs(root)
  tests = [d for d in TEST_DIRS if d in subdirs]
  if 'train' in subdirs and len(tests) > 1:
    return (f'{where}: {root} has train/ beside {len(tests)} test folders ({", ".join(tests)}); '
            f'keep one of them as the test split (move {root}/{tests[-1]} out of it).')
  if not subdirs or any(d not in SPLIT_DIRS for d in subdirs) or len(layout(root)) == 2:
    return None
  if 'train' in subdirs:
    return (f'{where}: {root} holds only train/, which would be read as one class named '
            f'"train"; add the test split as {root}/test/<class>/<image> (or val/), or set '
            f'data.source=folder:{root}/train to hold out data.test_fraction of each class.')
  return (f'{where}: {root} holds {"/, ".join(subdirs)}/ but no train/, which would be read as '
          f'classes; put the training images in {root}/train/<class>/<image>.')


def folder_problems(root: str, conditional: bool) -> list[str]:
  """Problems of a folder's layout: its existence, its split folders, its class folders (none,
  empty, a test class without training images) and, for a conditional run, two classes."""
  where = f'data.source=folder:{root}'
  if not os.path.exists(root):
    return [f'{where}: no such folder. Point it at a folder with one subfolder per class '
            f'({root}/<class>/<image>).']
  if not os.path.isdir(root):
    return [f'{where}: {root} is a file, not a folder (for an .npz of arrays use '
            f'data.source=npz:{root}).']
  problem = _layout_problem(root, where)
  if problem:
    return [problem]
  found, classes, dirs = [], {}, layout(root)
  for split, split_dir in dirs.items():
    classes[split] = _subdirs(split_dir)
    if not classes[split]:
      found.append(f'{where}: {split_dir} has no class subfolders; put the images in one '
                   f'subfolder per class ({split_dir}/<class>/<image>; one subfolder for an '
                   'unconditional run).')
    found += [f'{where}: class folder {os.path.join(split_dir, c)} holds no files; add its '
              'images or remove it.'
              for c in classes[split] if not _has_file(os.path.join(split_dir, c))]
  extra = sorted(set(classes.get('test', [])) - set(classes.get('train', [])))
  if extra:
    found.append(f'{where}: {dirs["test"]} has class folders {extra} that {root}/train lacks; '
                 f'every test class needs training images (add {root}/train/{extra[0]}, or '
                 f'remove {dirs["test"]}/{extra[0]}).')
  train = classes.get('train', classes.get(None, []))
  if conditional and len(train) == 1:
    found.append(f'{where}: model.conditional=True needs two classes at least; the folder has one '
                 f'class folder ({train[0]!r}). Add class folders, or set '
                 'model.conditional=False.')
  return found


def listing(root: str) -> tuple[list, list]:
  """(class names, [(split, label, relative path)]) of a folder whose problems are checked."""
  entries, classes = [], None
  for split, split_dir in layout(root).items():
    names = _subdirs(split_dir)
    classes = names if classes is None or split == 'train' else classes
    for c in names:
      for f in _files(os.path.join(split_dir, c)):
        entries.append((split, c, os.path.relpath(os.path.join(split_dir, c, f), root)))
  index = {c: i for i, c in enumerate(classes)}
  return classes, [(split, index[c], rel) for split, c, rel in entries]


def unread(root: str) -> list[str]:
  """What a folder: source does not read, as paths: visible entries beside the class folders
  that are not folders (at PATH, or at PATH/train and its test folder) and, beside train/ and
  its test folder, PATH's other visible entries."""
  dirs = layout(root)

  def visible(folder: str, folders_too: bool) -> list[str]:
    return [os.path.join(folder, e.name) for e in os.scandir(folder)
            if not e.name.startswith('.') and (folders_too or not e.is_dir())]
  if None in dirs:
    return sorted(visible(root, False))
  return sorted([p for p in visible(root, True) if p not in dirs.values()] +
                [p for d in dirs.values() for p in visible(d, False)])


def cache_paths(root: str, entries: list, data_config) -> tuple[str, str]:
  """(this content's cache file, the prefix of every cache file of this folder and settings):
  keyed by the settings and by every file's name, size and modification time (a broken
  symbolic link's own). OSError where the cache directory cannot be made."""
  settings = json.dumps([CACHE_VERSION, os.path.abspath(root), data_config.get('image_size'),
                         data_config.get('channels'), data_config.get('bad_files')])
  content = hashlib.sha256()
  for split, label, rel in entries:
    full = os.path.join(root, rel)
    st = os.stat(full) if os.path.exists(full) else os.lstat(full)
    content.update(json.dumps([split, label, rel, st.st_size, st.st_mtime_ns]).encode())
  prefix = os.path.join(offline.cache_dir(), 'folders',
                        hashlib.sha256(settings.encode()).hexdigest()[:16])
  return f'{prefix}-{content.hexdigest()[:16]}.npz', prefix


def _read_cache(path: str) -> Optional[dict]:
  try:
    with np.load(path, allow_pickle=False) as f:
      return {k: f[k] for k in f.files}
  except (OSError, ValueError, zipfile.BadZipFile, EOFError):
    return None  # Not cached yet, or a damaged file: decode again.


def _write_cache(path: str, prefix: str, arrays: dict) -> None:
  """Writes the cache file atomically and removes this folder's stale ones."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  atomic_files.write_atomically(path, lambda f: np.savez(f, **arrays), 'wb')
  folder, stem = os.path.split(prefix)
  for name in os.listdir(folder):
    if name.startswith(stem + '-') and name.endswith('.npz') and name != os.path.basename(path):
      try:
        os.remove(os.path.join(folder, name))
      except OSError:
        pass  # Another process removed it first.


def _open(path: str, decode: bool, size=None, channels=None) -> tuple:
  """(PIL's mode of the file, or its decoded image if `decode`; None) or (None, why PIL cannot
  read it). Only regular files are opened: a named pipe would block PIL for ever."""
  from PIL import Image, ImageOps
  if not os.path.isfile(path):
    broken = os.path.islink(path) and not os.path.exists(path)
    return None, (f'a broken symbolic link to {os.readlink(path)}' if broken
                  else 'not a regular file: a named pipe, socket or device')
  try:
    with Image.open(path) as img:
      return (fit(ImageOps.exif_transpose(img), size, channels) if decode else img.mode), None
  except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
    return None, f'{type(e).__name__}: {e}'


def _refuse_or_skip(root: str, rel: str, reason: str, bad_files: str, skipped: list) -> None:
  if bad_files == 'error':
    raise _error(f'data.source=folder:{root}: {os.path.join(root, rel)} is not an image PIL can '
                 f'read ({reason}). Remove it, or set data.bad_files=skip to skip such files.')
  skipped.append(rel)


def _channels(root: str, modes: list, wanted: Optional[int]) -> int:
  """data.channels, or the images' own (1 if all are grayscale); said once when mixed."""
  gray = sum(m in GRAY_MODES for m in modes)
  channels = wanted or (1 if gray == len(modes) else 3)
  if 0 < gray < len(modes):
    logging.warning('folder:%s mixes channel counts: %d grayscale and %d colour images; all are '
                    'converted to %d channel(s) (data.channels=%s).', root, gray,
                    len(modes) - gray, channels, wanted)
  return channels


def _check_decoded(root: str, classes: list, entries: list, kept: list, skipped: list) -> None:
  """Every class folder keeps an image; every image has one size (data.image_size unset)."""
  left = {(split, label) for (split, label, _), _ in kept}
  for split, label in sorted({e[:2] for e in entries} - left, key=str):
    folder = os.path.join(layout(root)[split], classes[label])
    raise _error(f'data.source=folder:{root}: class folder {folder} has no image PIL can read '
                 f'({len(skipped)} file(s) skipped, data.bad_files=skip); add images or remove '
                 'it.')
  shapes = {}
  for (_, _, rel), img in kept:
    shapes.setdefault(img.shape[:2], rel)
  if len(shapes) > 1:
    (a, ra), (b, rb) = list(shapes.items())[:2]
    raise _error(f'data.source=folder:{root}: images have different sizes ({a[1]}x{a[0]} {ra}, '
                 f'{b[1]}x{b[0]} {rb}); set data.image_size to resize all to one size.')


def decode_folder(root: str, classes: list, entries: list, data_config) -> dict:
  """The arrays of a folder, decoded: {'images', 'labels', 'is_test'}. Two passes: the modes
  (to choose the channels), then the images; an unreadable file is refused or skipped."""
  bad_files, skipped, modes = data_config.get('bad_files', 'error'), [], {}
  for entry in entries:
    mode, reason = _open(os.path.join(root, entry[2]), decode=False)
    if reason:
      _refuse_or_skip(root, entry[2], reason, bad_files, skipped)
    else:
      modes[entry] = mode
  channels = _channels(root, list(modes.values()), data_config.get('channels'))
  logging.info('folder:%s: decoding %d images (once; then cached).', root, len(modes))
  kept = []
  for entry in modes:
    img, reason = _open(os.path.join(root, entry[2]), True, data_config.get('image_size'),
                        channels)
    if reason:
      _refuse_or_skip(root, entry[2], reason, bad_files, skipped)
    else:
      kept.append((entry, img))
  if skipped:
    logging.warning('folder:%s: skipped %d file(s) that are not images (data.bad_files=skip), '
                    'e.g. %s.', root, len(skipped), os.path.join(root, skipped[0]))
  _check_decoded(root, classes, entries, kept, skipped)
  return {'images': np.stack([img for _, img in kept]),
          'labels': np.array([e[1] for e, _ in kept], np.int64),
          'is_test': np.array([e[0] == 'test' for e, _ in kept])}


def _cache_location(root: str, entries: list, data_config) -> tuple:
  """cache_paths, or (None, None) and a warning where the cache directory cannot be made."""
  try:
    return cache_paths(root, entries, data_config)
  except OSError as e:
    logging.warning('folder:%s: no cache directory (%s); the images are decoded without a cache, '
                    'and will be decoded again next time.', root, e)
    return None, None


def _decoded(root: str, classes: list, entries: list, data_config) -> dict:
  """decode_folder's arrays: from the cache when there, else decoded and cached (a cache
  directory that cannot be made or written is a warning, not a failed run)."""
  path, prefix = _cache_location(root, entries, data_config)
  arrays = _read_cache(path) if path else None
  if arrays is not None:
    return arrays
  arrays = decode_folder(root, classes, entries, data_config)
  if path:
    try:
      _write_cache(path, prefix, arrays)
      logging.info('folder:%s: %d images cached in %s', root, len(arrays['images']), path)
    except OSError as e:  # A read-only or full cache directory: train anyway, decode next time.
      logging.warning('folder:%s: cannot cache the decoded images in %s (%s); they will be '
                      'decoded again next time.', root, path, e)
  return arrays


def load_folder(data_config) -> tuple[dict, int]:
  """({split: (uint8 images, int64 labels)}, class count) of a folder: source (cached)."""
  root = path_of(data_config.source)
  found = folder_problems(root, conditional=False)
  if found:
    raise _error(found[0])
  left = unread(root)
  if left:
    logging.warning('folder:%s: %d file(s) or folder(s) beside the class folders are not read '
                    '(e.g. %s); images belong in one subfolder per class (%s/<class>/<image>).',
                    root, len(left), left[0], next(iter(layout(root).values())))
  classes, entries = listing(root)
  arrays = _decoded(root, classes, entries, data_config)
  images, labels, is_test = arrays['images'], arrays['labels'], arrays['is_test']
  if None not in layout(root):
    splits = {'train': (images[~is_test], labels[~is_test]),
              'test': (images[is_test], labels[is_test])}
  else:
    splits = _splits(images, labels, data_config.get('test_fraction', 0.1),
                     f'data.source=folder:{root}')
  return splits, len(classes)


# --- npz:PATH ---------------------------------------------------------------------------------


def npz_headers(path: str) -> dict:
  """{array name: (shape, dtype)} of an .npz, read from the headers without loading any data."""
  out = {}
  with zipfile.ZipFile(path) as z:
    for info in z.infolist():
      if not info.filename.endswith('.npy'):
        continue
      with z.open(info) as f:
        version = np.lib.format.read_magic(f)
        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read(f)
      out[info.filename[:-len('.npy')]] = (shape, dtype)
  return out


def _array_problems(where: str, headers: dict) -> list[str]:
  """Shapes and dtypes of x, y, x_test, y_test: images, integer labels, matching lengths."""
  found = []
  for name, (shape, dtype) in headers.items():
    if dtype.hasobject:
      found.append(f'{where}: array {name!r} holds Python objects, which need pickle (refused: '
                   f'allow_pickle=False); {NPZ_HINT}.')
  if found or 'x' not in headers:
    return found or [f'{where} has no array \'x\' (its arrays: {sorted(headers)}); {NPZ_HINT}.']
  for xs, ys in (('x', 'y'), ('x_test', 'y_test')):
    if xs not in headers:
      continue
    (shape, dtype), c = headers[xs], headers[xs][0][3:4] or (1,)
    if len(shape) not in (3, 4) or not 1 <= c[0] <= 4 or not shape[0]:
      found.append(f'{where}: {xs} has shape {shape}; images are (N, H, W) or (N, H, W, C) with '
                   'N >= 1 and C 1 (gray), 3 (RGB) or 4 (RGBA).')
    if dtype != np.uint8 and dtype.kind != 'f':
      found.append(f'{where}: {xs} has dtype {dtype}; images are uint8 0..255 or float 0..1 '
                   f'({xs}.astype(np.uint8)).')
    if ys in headers:
      yshape, ydtype = headers[ys]
      if ydtype.kind in 'iu' and len(yshape) == 2 and yshape[1] == 1:
        found.append(f'{where}: {ys} has shape {yshape}; labels are one integer per image, '
                     f'shape (N,) ({ys}.reshape(-1)).')
      elif ydtype.kind not in 'iu' or len(yshape) != 1:
        found.append(f'{where}: {ys} has dtype {ydtype} and shape {yshape}; labels are integers '
                     f'(N,) ({ys}.astype(int)).')
      elif yshape[0] != shape[0]:
        found.append(f'{where}: {xs} and {ys} have different lengths ({shape[0]} images, '
                     f'{yshape[0]} labels); give one label per image.')
  if 'x_test' in headers and headers['x_test'][0][1:] != headers['x'][0][1:]:
    found.append(f'{where}: x_test has images of shape {headers["x_test"][0][1:]}, x of '
                 f'{headers["x"][0][1:]}; both splits need one shape.')
  if ('y' in headers) != ('y_test' in headers) and 'x_test' in headers:
    found.append(f'{where}: give y and y_test together (labels of both splits), or neither.')
  if 'x_test' not in headers and 'y_test' in headers:
    found.append(f'{where}: y_test without x_test; give the test images as x_test, or drop '
                 'y_test.')
  return found


def _label_problems(where: str, y: Optional[np.ndarray], y_test: Optional[np.ndarray],
                    conditional: bool) -> list[str]:
  """Labels 0..K-1, each class with training examples; test labels among them; two classes at
  least for a conditional run."""
  if y is None:
    return [f'{where} has no labels (y); model.conditional=True needs them: add y, or set '
            'model.conditional=False.'] if conditional else []
  for name, labels in (('y', y), ('y_test', y_test)):
    if labels is not None and len(labels) and labels.min() < 0:
      i = int(np.argmax(labels < 0))
      return [f'{where}: {name} has negative labels ({labels[i]} at index {i}); labels are '
              '0..K-1.']
  k = int(y.max()) + 1
  missing = sorted(set(range(k)) - set(np.unique(y).tolist()))
  if missing:
    return [f'{where}: y has no example of classes {missing[:10]} of 0..{k - 1}; labels must be '
            '0..K-1, each with examples (renumber: y = np.unique(y, return_inverse=True)[1]).']
  if y_test is not None and len(y_test) and y_test.max() >= k:
    beyond = sorted(set(y_test[y_test >= k].tolist()))[:10]
    return [f'{where}: y_test has labels out of range ({beyond}); y has classes 0..{k - 1}, '
            'and every test class needs training examples.']
  if conditional and k < 2:
    return [f'{where}: model.conditional=True needs two classes at least; y has one. Give more '
            'classes, or set model.conditional=False.']
  return []


def npz_problems(path: str, conditional: bool) -> list[str]:
  """Problems of an .npz found from its headers and labels (no image is loaded)."""
  where = f'data.source=npz:{path}'
  if not os.path.exists(path):
    return [f'{where}: no such file. Point it at an .npz of arrays ({NPZ_HINT}).']
  if os.path.isdir(path):
    return [f'{where}: {path} is a folder (for a folder of images use data.source='
            f'folder:{path}).']
  try:
    headers = npz_headers(path)
  except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
    return [f'{where}: not a readable .npz ({type(e).__name__}: {e}); {NPZ_HINT}.']
  found = _array_problems(where, headers)
  if found:
    return found
  with np.load(path, allow_pickle=False) as f:
    y = f['y'] if 'y' in f.files else None
    y_test = f['y_test'] if 'y_test' in f.files else None
  return _label_problems(where, y, y_test, conditional)


def npz_images(x: np.ndarray, name: str, data_config) -> np.ndarray:
  """uint8 (N, S, S, C) images of an .npz array: floats checked to be in [0, 1] and scaled;
  (N, H, W) given a channel; converted and resized as a folder's (`fit_arrays`)."""
  where = f'data.source={data_config.source}'
  if x.dtype.kind == 'f':
    if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1:
      raise _error(f'{where}: {name} is float in [{np.nanmin(x):g}, {np.nanmax(x):g}]; float '
                   f'images must be in [0, 1] (from [-1, 1]: ({name} + 1) / 2), or save uint8.')
    x = np.round(x * 255.0).astype(np.uint8)
  x = x[..., None] if x.ndim == 3 else x
  native = {1: 1, 2: 1, 3: 3, 4: 3}[x.shape[-1]]
  if x.shape[-1] in (2, 4):
    logging.info('%s: %s has an alpha channel; it is dropped.', where, name)
  return fit_arrays(x, data_config.get('image_size'), data_config.get('channels') or native)


def load_npz(data_config) -> tuple[dict, Optional[int]]:
  """({split: (uint8 images, int64 labels or None)}, class count or None) of an npz: source."""
  path = path_of(data_config.source)
  found = npz_problems(path, conditional=False)
  if found:
    raise _error(found[0])
  with np.load(path, allow_pickle=False) as f:
    arrays = {k: f[k] for k in ('x', 'y', 'x_test', 'y_test') if k in f.files}
  x = npz_images(arrays['x'], 'x', data_config)
  y = arrays['y'].astype(np.int64) if 'y' in arrays else None
  num_classes = None if y is None else int(y.max()) + 1
  if 'x_test' not in arrays:
    return _splits(x, y, data_config.get('test_fraction', 0.1),
                   f'data.source={data_config.source}'), num_classes
  y_test = arrays['y_test'].astype(np.int64) if 'y_test' in arrays else None
  return {'train': (x, y), 'test': (npz_images(arrays['x_test'], 'x_test', data_config),
                                    y_test)}, num_classes


def load(data_config) -> tuple[dict, Optional[int]]:
  """({split: (uint8 images (N, H, W, C), int64 labels or None)}, class count or None)."""
  return (load_folder if kind(data_config.source) == 'folder' else load_npz)(data_config)
