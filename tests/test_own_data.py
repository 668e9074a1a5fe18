"""Your own images (gan_jax/data/own_images.py): `folder:` and `npz:` give the arrays they were made
from and the same batches, the folder cache is reused and invalidated, the splits are stratified,
images are resized and converted, the evaluators say what fits, training (conditional and not),
sweeps and the augmentation protocol run on them, and every bad input is refused in one line.
The example folder is written here from mnist5k: 20 PNGs for each of 3 classes."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax.data import offline
from gan_jax.data import own_images
from gan_jax.evaluators import EvalError, features, select
from tests.conftest import REPO, load_experiment, train_records

CLASSES = ('zero', 'one', 'two')  # Folder names; sorted, they are not label order: see `digits`.
PER_CLASS = 20


@pytest.fixture(scope='module')
def digits():
  """(images uint8 (60, 28, 28, 1), labels (60,)): the first 20 mnist5k digits of 0, 1, 2,
  labelled by the sorted position of their folder name (as an ImageFolder labels them)."""
  x, y = offline.mnist5k_arrays()
  label_of = {name: i for i, name in enumerate(sorted(CLASSES))}
  images, labels = [], []
  for digit, name in enumerate(CLASSES):
    idx = np.flatnonzero(y == digit)[:PER_CLASS]
    images.append(x[idx])
    labels.append(np.full(PER_CLASS, label_of[name]))
  order = np.argsort(np.concatenate(labels), kind='stable')  # Folder order: by class, by file.
  return np.concatenate(images)[order], np.concatenate(labels)[order]


def write_folder(root, images, labels, names=tuple(sorted(CLASSES)), ext='png'):
  for i, (img, label) in enumerate(zip(images, labels)):
    folder = os.path.join(root, names[label])
    os.makedirs(folder, exist_ok=True)
    Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(
        os.path.join(folder, f'{i:03d}.{ext}'))
  return str(root)


@pytest.fixture
def cache(tmp_path, monkeypatch):
  """The user's cache directory, by XDG_CACHE_HOME."""
  monkeypatch.delenv('GAN_JAX_CACHE', raising=False)
  monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
  return tmp_path / 'xdg' / 'gan_jax' / 'folders'


@pytest.fixture
def folder(tmp_path, digits, cache):
  return write_folder(tmp_path / 'digits', *digits)


@pytest.fixture
def npz(tmp_path, digits):
  path = str(tmp_path / 'digits.npz')
  np.savez(path, x=digits[0][..., 0], y=digits[1])  # (N, H, W): no channel axis.
  return path


def data_config(source, **fields):
  d = configs.base_config().data
  d.source = source
  for k, v in fields.items():
    d[k] = v
  return d


def config_of(source, conditional=True, **fields):
  config = configs.base_config()
  config.data = data_config(source, **fields)
  config.model.conditional = conditional
  return config


def whole(dataset):
  idx = np.arange(dataset.size)
  return dataset.get(idx), dataset.labels_of(idx)


def test_folder_and_npz_give_the_original_arrays_stratified(folder, npz, digits):
  images, labels = digits
  train_idx, test_idx = own_images.stratified_split(labels, 0.1, 'x')
  sources = [data_lib.get_source(data_config(s)) for s in ('folder:' + folder, 'npz:' + npz)]
  for source in sources:
    assert source.num_classes == 3 and set(source.splits) == {'train', 'test'}
    for split, idx in (('train', train_idx), ('test', test_idx)):
      x, y = whole(source.splits[split])
      np.testing.assert_array_equal(x, data_lib.uint8_to_float(images[idx]))
      np.testing.assert_array_equal(y, labels[idx])
  # Stratified: 10% of each class (2 of 20) held out, seeded: the same split every time.
  assert np.bincount(labels[test_idx]).tolist() == [2, 2, 2]
  assert np.bincount(labels[train_idx]).tolist() == [18, 18, 18]
  np.testing.assert_array_equal(own_images.stratified_split(labels, 0.1, 'x')[1], test_idx)
  assert np.bincount(labels[own_images.stratified_split(labels, 0.25, 'x')[1]]).tolist() == [
      5, 5, 5]
  a, b = (data_lib.Batcher(s.splits['train'], 8, seed=0) for s in sources)
  for k in (0, 5, 6, 13):  # Across epochs (6 batches of 8 in 54).
    np.testing.assert_array_equal(a.step_batch(k, 1)['image'], b.step_batch(k, 1)['image'])
    np.testing.assert_array_equal(a.step_batch(k, 1)['label'], b.step_batch(k, 1)['label'])


def test_npz_float_images_own_test_split_and_no_labels(tmp_path, digits):
  images, labels = digits
  path = str(tmp_path / 'f.npz')
  np.savez(path, x=images[:50].astype(np.float32) / 255, y=labels[:50], x_test=images[50:],
           y_test=labels[50:])
  source = data_lib.get_source(data_config('npz:' + path))
  x, y = whole(source.splits['train'])
  np.testing.assert_array_equal(x, data_lib.uint8_to_float(images[:50]))
  np.testing.assert_array_equal(whole(source.splits['test'])[1], labels[50:])
  path = str(tmp_path / 'unlabelled.npz')
  np.savez(path, x=images)
  source = data_lib.get_source(data_config('npz:' + path))
  assert source.num_classes is None and not source.splits['train'].has_labels
  assert (source.splits['train'].size, source.splits['test'].size) == (54, 6)


def test_folder_cache_is_reused_and_invalidated_by_a_changed_file(folder, cache, monkeypatch):
  first = whole(data_lib.get_source(data_config('folder:' + folder)).splits['train'])[0]
  [cached] = os.listdir(cache)

  def no_decoding(*args, **kwargs):
    raise AssertionError('decoded again')
  with monkeypatch.context() as mp:
    mp.setattr(own_images, '_open', no_decoding)
    again = whole(data_lib.get_source(data_config('folder:' + folder)).splits['train'])[0]
  np.testing.assert_array_equal(first, again)
  # One file changes (content and modification time): decoded again, the stale cache removed.
  path = os.path.join(folder, 'one', sorted(os.listdir(os.path.join(folder, 'one')))[0])
  Image.fromarray(255 - np.asarray(Image.open(path))).save(path)
  os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
  changed = whole(data_lib.get_source(data_config('folder:' + folder)).splits['train'])[0]
  [recached] = os.listdir(cache)
  assert recached != cached
  assert 0 < np.sum(np.any(changed != first, axis=(1, 2, 3))) <= 1  # The one image (if in train).
  other_size = data_config('folder:' + folder, image_size=16)  # Other settings: another file.
  assert data_lib.get_source(other_size).splits['train'].element_shape == (16, 16, 1)
  assert len(os.listdir(cache)) == 2


def test_train_and_test_subfolders_are_the_splits(tmp_path, digits, cache):
  images, labels = digits
  root = tmp_path / 'split'
  write_folder(root / 'train', images[labels != 2], labels[labels != 2])
  write_folder(root / 'test', images[labels == 2][:3], [0, 1, 1])
  source = data_lib.get_source(data_config(f'folder:{root}'))
  assert (source.splits['train'].size, source.splits['test'].size, source.num_classes) == (40, 3, 2)
  np.testing.assert_array_equal(whole(source.splits['test'])[0],
                                data_lib.uint8_to_float(images[labels == 2][:3]))
  np.testing.assert_array_equal(whole(source.splits['test'])[1], [0, 1, 1])


def test_resized_antialiased_and_mixed_channels_converted(tmp_path, cache, caplog):
  root = tmp_path / 'mixed'
  rng = np.random.default_rng(0)
  write_folder(root, rng.integers(0, 256, (3, 40, 60, 3), np.uint8), [0, 0, 1])
  write_folder(root, rng.integers(0, 256, (2, 32, 32, 1), np.uint8), [1, 0], ext='jpg')
  with pytest.raises(data_lib.DataError, match=r'images have different sizes \(60x40 .*set '
                     r'data.image_size'):
    data_lib.get_source(data_config(f'folder:{root}'))
  caplog.clear()
  source = data_lib.get_source(data_config(f'folder:{root}', image_size=16, test_fraction=0.4))
  assert source.splits['train'].element_shape == (16, 16, 3)
  said = [r.getMessage() for r in caplog.records if 'mixes channel counts' in r.getMessage()]
  assert len(said) == 1 and '2 grayscale and 3 colour' in said[0], said
  gray = data_lib.get_source(data_config(f'folder:{root}', image_size=16, channels=1,
                                          test_fraction=0.4))
  assert gray.splits['train'].element_shape == (16, 16, 1)
  # Antialiased: a 1-pixel checkerboard shrinks to flat grey, not to an aliased pattern.
  board = (np.indices((64, 64)).sum(0) % 2 * 255).astype(np.uint8)
  small = own_images.fit(Image.fromarray(board), 16, 1)
  assert np.abs(small.astype(int) - 127.5).max() < 8


def test_skipped_files_are_counted(folder, caplog):
  with open(os.path.join(folder, 'one', 'notes.txt'), 'w') as f:
    f.write('not an image')
  open(os.path.join(folder, 'two', '.DS_Store'), 'w').close()  # Hidden: ignored, not counted.
  source = data_lib.get_source(data_config('folder:' + folder, bad_files='skip'))
  assert source.splits['train'].size + source.splits['test'].size == 60
  said = [r.getMessage() for r in caplog.records if 'skipped' in r.getMessage()]
  assert len(said) == 1 and 'skipped 1 file(s)' in said[0] and 'notes.txt' in said[0]


def _one_line(message: str, pattern: str) -> None:
  assert '\n' not in message and re.search(pattern, message), message


def _setup_bad(tmp_path, digits, case):
  """(data.source, model.conditional, {data fields}) of one bad input, written in tmp_path."""
  images, labels = digits
  root = tmp_path / case
  if case == 'missing_folder':
    return f'folder:{root}', False, {}
  if case in ('empty_class', 'single_class', 'not_image', 'test_class'):
    write_folder(root, images[:2], [0, 0] if case == 'single_class' else [0, 1])
    (root / 'empty').mkdir(exist_ok=True) if case == 'empty_class' else None
    (root / 'one' / 'readme.txt').write_text('x') if case == 'not_image' else None
    if case == 'test_class':
      write_folder(root / 'train', images[:2], [0, 1])
      write_folder(root / 'test', images[:2], [0, 2], names=('one', 'two', 'three'))
    return f'folder:{root}', case == 'single_class', {}
  arrays = {'negative': dict(x=images, y=labels - 1), 'gap': dict(x=images, y=labels * 2),
            'range': dict(x=images, y=labels, x_test=images[:2], y_test=np.array([0, 3])),
            'lengths': dict(x=images, y=labels[:-1]), 'float': dict(x=images / 255.0 * 2 - 1),
            'pickle': dict(x=images, y=np.array(list(labels), dtype=object)),
            'single_npz': dict(x=images, y=np.zeros(len(images), int)),
            'no_x': dict(images=images)}.get(case)
  if arrays is not None:
    np.savez(f'{root}.npz', **arrays)
  return f'npz:{root}.npz', case == 'single_npz', {}


BAD = [  # case, where it is refused ('problems': configs.validate; 'load': get_source), message
    ('missing_folder', 'problems', r'folder:.*missing_folder: no such folder\. Point it at a '
     r'folder with one subfolder per class'),
    ('missing_npz', 'problems', r'npz:.*missing_npz\.npz: no such file'),
    ('empty_class', 'problems', r'class folder .*empty_class/empty holds no files; add its '
     r'images or remove it'),
    ('single_class', 'problems', r'model\.conditional=True needs two classes at least; the '
     r"folder has one class folder \('one'\)\. .*set model\.conditional=False"),
    ('single_npz', 'problems', r'model\.conditional=True needs two classes at least; y has one'),
    ('test_class', 'problems', r"test has class folders \['three'\] that .*train lacks"),
    ('not_image', 'load', r'one/readme\.txt is not an image PIL can read .* Remove it, or set '
     r'data\.bad_files=skip'),
    ('negative', 'problems', r'y has negative labels \(-1 at index 0\); labels are 0\.\.K-1'),
    ('gap', 'problems', r'y has no example of classes \[1, 3\] of 0\.\.4; .*renumber'),
    ('range', 'problems', r'y_test has labels out of range \(\[3\]\); y has classes 0\.\.2'),
    ('lengths', 'problems', r'x and y have different lengths \(60 images, 59 labels\)'),
    ('pickle', 'problems', r"array 'y' holds Python objects, which need pickle \(refused: "
     r'allow_pickle=False\); save it with np\.savez'),
    ('float', 'load', r'x is float in \[-1, 1\]; float images must be in \[0, 1\] \(from '
     r'\[-1, 1\]: \(x \+ 1\) / 2\)'),
    ('no_x', 'problems', r"has no array 'x' \(its arrays: \['images'\]\)"),
]


@pytest.mark.parametrize('case, where, message', BAD, ids=[b[0] for b in BAD])
def test_bad_inputs_are_one_line_naming_the_path_and_the_fix(tmp_path, digits, cache, case,
                                                             where, message):
  source, conditional, fields = _setup_bad(tmp_path, digits, case)
  config = config_of(source, conditional, **fields)
  found = data_lib.problems(config)
  if where == 'problems':
    assert len(found) == 1, found
    _one_line(found[0], message)
    with pytest.raises(configs.ConfigError, match=re.escape(found[0])):
      configs.validate(config)
  else:
    assert found == []
    with pytest.raises(data_lib.DataError) as e:
      data_lib.get_source(config.data)
    _one_line(str(e.value), message)


def test_bad_fields_and_paths_of_the_other_kind(tmp_path, folder, npz):
  config = config_of('folder:' + npz)
  _one_line(data_lib.problems(config)[0], r'is a file, not a folder \(for an \.npz of arrays use '
            r'data\.source=npz:')
  config = config_of('npz:' + folder)
  _one_line(data_lib.problems(config)[0], r'is a folder \(for a folder of images use')
  config = config_of('folder:' + folder, test_fraction=1.5, channels=2, bad_files='ignore')
  found = data_lib.problems(config)
  assert [m.split(' ')[0] for m in found] == ['data.test_fraction', 'data.channels',
                                              'data.bad_files'], found
  assert data_lib.problems(config_of('folder:')) == ["data.source='folder:' needs a path: "
                                                     'folder:PATH.']


def test_the_evaluator_says_what_fits_own_images():
  config = config_of('folder:/x')
  assert features.feature_space(config, (28, 28, 1)) == 'mnist_classifier'
  assert select(config, (28, 28, 1)) == [features.Features]
  assert features.feature_space(config, (32, 32, 1)) == 'inception_v3'
  for shape in ((32, 32, 1), (64, 64, 3)):
    with pytest.raises(EvalError) as e:
      select(config, shape)
    _one_line(str(e.value), r'FID & co\. need the Inception features .*set '
              r'eval\.inception_weights .* or eval\.evaluators=\(\) to train without evaluation')
  config.eval.features = 'mnist_classifier'
  with pytest.raises(EvalError, match=r'the mnist_classifier space fits only 28x28x1'):
    select(config, (32, 32, 1))
  config.eval.features, config.eval.inception_weights = 'auto', '/w/inception_fid.npz'
  assert select(config, (64, 64, 3)) == [features.Features]
  config.data.source = 'mnist5k'  # The offline sources keep their rule: one channel, any size.
  config.eval.inception_weights = None
  assert features.feature_space(config, (32, 32, 1)) == 'mnist_classifier'


def _train(config, workdir, monkeypatch):
  """train_and_evaluate, recording every host batch of the run."""
  from gan_jax import train
  seen = []
  real = data_lib.Batcher.step_batch

  def recording(self, *args, **kwargs):
    out = real(self, *args, **kwargs)
    seen.append(out)
    return out
  with monkeypatch.context() as mp:
    mp.setattr(data_lib.Batcher, 'step_batch', recording)
    train.train_and_evaluate(config, str(workdir))
  return seen


@pytest.mark.slow
def test_dcgan_mnist_runlocal_trains_the_same_on_folder_and_npz(folder, npz, tmp_path,
                                                                monkeypatch):
  runs = {}
  for name, source in (('folder', 'folder:' + folder), ('npz', 'npz:' + npz)):
    config = load_experiment('dcgan_mnist', 'runlocal')
    config.data.source = source
    runs[name] = _train(config, tmp_path / name, monkeypatch)
  assert len(runs['folder']) == len(runs['npz']) >= 4
  for a, b in zip(runs['folder'], runs['npz']):
    np.testing.assert_array_equal(a['image'], b['image'])
    np.testing.assert_array_equal(a['label'], b['label'])
  assert len(np.unique(np.concatenate([r['label'] for r in runs['npz']]))) == 3
  records = {n: [{k: v for k, v in r.items() if k != 'steps_per_s'}
                 for r in train_records(str(tmp_path / n / 'metrics.jsonl'))] for n in runs}
  assert records['folder'] == records['npz'] and records['folder']
  for name in runs:  # Evaluated in the mnist_classifier space (28x28x1).
    result = json.load(open(tmp_path / name / 'eval.json'))
    assert result['protocol']['features'] == 'mnist_classifier', result['protocol']
    assert np.isfinite(result['mean']['fid'])


@pytest.mark.slow
def test_an_unconditional_run_on_an_unlabelled_npz(tmp_path, digits, monkeypatch):
  path = str(tmp_path / 'unlabelled.npz')
  np.savez(path, x=digits[0])
  config = load_experiment('dcgan_mnist', 'runlocal')
  config.data.source = 'npz:' + path
  with pytest.raises(configs.ConfigError, match=r'has no labels \(y\); model\.conditional=True '
                     'needs them'):
    configs.validate(config)
  config.model.conditional = False
  batches = _train(config, tmp_path / 'run', monkeypatch)
  assert batches and all(not b['label'].any() for b in batches)
  assert batches[0]['image'].shape[-3:] == (28, 28, 1)
  result = json.load(open(tmp_path / 'run' / 'eval.json'))
  assert np.isfinite(result['mean']['fid'])


def test_sweep_points_on_own_sources_are_checked_up_front(tmp_path, folder, npz):
  from gan_jax import sweep
  exp = tmp_path / 'own_sweep.py'
  exp.write_text(
      'import os\nfrom gan_jax import configs\n'
      f'def get_config(arg=None):\n  return configs.load_experiment({REPO!r} + '
      "'/experiments/dcgan_mnist.py', arg)\n"
      f'def get_sweep(arg=None):\n  return [{{"data.source": "folder:{folder}"}}, '
      f'{{"data.source": "npz:{npz}"}}, {{"data.source": "npz:{npz}", "data.image_size": 32}}]\n')
  points = sweep.plan(str(exp), 'runlocal', str(tmp_path / 'sweep'))
  assert [c.data.source for _, c, _ in points] == ['folder:' + folder] + ['npz:' + npz] * 2
  exp.write_text(exp.read_text().replace(npz, npz + '.missing'))
  with pytest.raises(configs.ConfigError, match=r'digits\.npz\.missing: no such file'):
    sweep.plan(str(exp), 'runlocal', str(tmp_path / 'sweep'))


@pytest.mark.slow
def test_augmentation_protocol_runlocal_on_a_folder(folder, tmp_path):
  from gan_jax.applications import augmentation
  from gan_jax.applications.augmentation import protocol as aug_protocol
  config = load_experiment('augment_mnist', 'runlocal')
  config.data.source = 'folder:' + folder
  summary = augmentation.run(config, str(tmp_path / 'augment'))
  cell = json.load(open(tmp_path / 'augment' / 'n=5,seed=0' / 'results.json'))
  assert cell['real_examples'] == 15  # 5 a class, 3 classes.
  assert set(cell['methods']) == set(aug_protocol.methods(config.protocol.ratios))
  assert cell['methods']['real+gan_x1']['train_examples'] == 30
  assert 0 <= cell['gan_test'] <= 1 and summary['rows']
  assert os.path.getsize(tmp_path / 'augment' / 'results.md') > 0


@pytest.mark.slow
def test_a_missing_folder_is_one_line_on_the_command_line(tmp_path):
  r = subprocess.run([sys.executable, '-m', 'gan_jax.main',
                      '--config=experiments/dcgan_mnist.py:runlocal',
                      f'--config.data.source=folder:{tmp_path}/nope', f'--workdir={tmp_path}/w'],
                     cwd=REPO, capture_output=True, text=True, timeout=120,
                     env={**os.environ, 'JAX_PLATFORMS': 'cpu'})
  assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr[-2000:]
  assert re.search(r'folder:.*/nope: no such folder\. Point it at a folder', r.stderr)
  assert not (tmp_path / 'w').exists()


# --- Review fixes: 16-bit images, split folders, the cache location, special files, the split's
# seeds, the digit classifier's class numbers, symbolic links, stray files, field types. -------


def test_16_bit_grayscale_is_scaled_to_8_bits_not_clipped(tmp_path, cache):
  ramp = np.linspace(0, 65535, 32 * 32).reshape(32, 32).astype(np.uint16)
  for c in ('a', 'b'):
    os.makedirs(tmp_path / 'deep' / c)
    for i in range(5):
      Image.fromarray(ramp).save(tmp_path / 'deep' / c / f'{i}.png')
  assert Image.open(tmp_path / 'deep' / 'a' / '0.png').mode.startswith('I')  # PIL: I;16 (or I).
  splits, _ = own_images.load(data_config(f'folder:{tmp_path / "deep"}', test_fraction=0.2))
  x = splits['train'][0]
  assert x.shape == (8, 32, 32, 1)
  np.testing.assert_array_equal(x[0, ..., 0], ramp >> 8)  # Not almost all 255.
  # 'I' (int32) by the 16-bit range; 'F' as 0..1 when all of it is there, else as 'I'.
  as_i = Image.fromarray(ramp.astype(np.int32))
  np.testing.assert_array_equal(own_images.fit(as_i, None, 1)[..., 0], ramp >> 8)
  as_f = Image.fromarray(np.array([[0, 0.5, 1]], np.float32))
  assert own_images.fit(as_f, None, 1)[..., 0].tolist() == [[0, 128, 255]]
  as_f = Image.fromarray(np.array([[0, 512, 70000]], np.float32))
  assert own_images.fit(as_f, None, 3)[0, :, 0].tolist() == [0, 2, 255]


def _split_folder(root, digits, names):
  images, labels = digits
  for name in names:
    write_folder(root / name, images[labels < 2], labels[labels < 2], names=('cat', 'dog'))
  return str(root)


@pytest.mark.parametrize('test_dir', ['val', 'valid'])
def test_train_and_val_folders_are_the_splits(tmp_path, digits, cache, test_dir):
  root = _split_folder(tmp_path / 'tv', digits, ('train', test_dir))
  assert own_images.layout(root) == {'train': f'{root}/train', 'test': f'{root}/{test_dir}'}
  source = data_lib.get_source(data_config(f'folder:{root}'))
  assert (source.num_classes, source.splits['train'].size, source.splits['test'].size) == (
      2, 40, 40)
  assert own_images.listing(root)[0] == ['cat', 'dog']


@pytest.mark.parametrize('names, message', [
    (('train',), r'tv holds only train/, which would be read as one class named "train"; add the '
     r'test split as .*tv/test/<class>/<image> \(or val/\), or set data\.source=folder:.*tv/train'),
    (('train', 'test', 'val'), r'tv has train/ beside 2 test folders \(test, val\); keep one of '
     r'them as the test split \(move .*tv/val out of it\)'),
    (('val',), r'tv holds val/ but no train/, which would be read as classes; put the training '
     r'images in .*tv/train/<class>/<image>'),
])
def test_split_folders_in_another_combination_are_refused(tmp_path, digits, cache, names,
                                                          message):
  root = _split_folder(tmp_path / 'tv', digits, names)
  found = data_lib.problems(config_of(f'folder:{root}', conditional=False))
  assert len(found) == 1, found
  _one_line(found[0], message)


def test_a_class_named_train_beside_other_classes_is_a_class(tmp_path, digits, cache):
  root = write_folder(tmp_path / 'vehicles', *digits, names=('bus', 'train', 'tram'))
  assert data_lib.problems(config_of(f'folder:{root}')) == []
  assert own_images.listing(root)[0] == ['bus', 'train', 'tram']


def test_an_unusable_cache_location_is_a_warning(folder, cache, monkeypatch, tmp_path, caplog):
  expected = whole(data_lib.get_source(data_config('folder:' + folder)).splits['train'])[0]

  def no_cache_dir():
    raise PermissionError(13, 'Permission denied', '/nowhere/gan_jax')
  with monkeypatch.context() as mp:
    mp.setattr(offline, 'cache_dir', no_cache_dir)
    mp.setattr(own_images, '_read_cache', lambda path: None)  # Decoded again, then not cached.
    got = whole(data_lib.get_source(data_config('folder:' + folder)).splits['train'])[0]
  np.testing.assert_array_equal(got, expected)
  said = [r.getMessage() for r in caplog.records if 'no cache directory' in r.getMessage()]
  assert len(said) == 1 and 'Permission denied' in said[0], said
  (tmp_path / 'a_file').write_text('')  # $GAN_JAX_CACHE under a file: makedirs cannot make it.
  monkeypatch.setenv('GAN_JAX_CACHE', str(tmp_path / 'a_file' / 'gan_jax'))
  got = whole(data_lib.get_source(data_config('folder:' + folder)).splits['train'])[0]
  np.testing.assert_array_equal(got, expected)


def test_a_broken_symbolic_link_is_a_bad_file(folder, caplog):
  os.symlink('/nonexistent/gone.png', os.path.join(folder, 'one', 'gone.png'))
  config = config_of('folder:' + folder, conditional=False)
  assert data_lib.problems(config) == []
  with pytest.raises(data_lib.DataError) as e:
    data_lib.get_source(config.data)
  _one_line(str(e.value), r'one/gone\.png is not an image PIL can read \(a broken symbolic link '
            r'to /nonexistent/gone\.png\)\. Remove it, or set data\.bad_files=skip')
  source = data_lib.get_source(data_config('folder:' + folder, bad_files='skip'))
  assert source.splits['train'].size + source.splits['test'].size == 60
  said = [r.getMessage() for r in caplog.records if 'skipped' in r.getMessage()]
  assert len(said) == 1 and 'skipped 1 file(s)' in said[0] and 'gone.png' in said[0]


def _load_in_a_thread(data, pipe: str, timeout: float = 60):
  """The error of get_source(data) (None: it loaded), run in a thread; a thread still blocked
  after `timeout` (reading the named pipe `pipe`) fails the test once a writer has let it go."""
  import threading
  out = {}

  def run():
    try:
      data_lib.get_source(data)
    except Exception as e:  # pylint: disable=broad-except
      out['error'] = e
  thread = threading.Thread(target=run, daemon=True)
  thread.start()
  thread.join(timeout)
  if thread.is_alive():  # Open a writer and close it: the blocked reader sees EOF, returns.
    os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
    thread.join(timeout)
    pytest.fail(f'loading a folder with a named pipe ({pipe}) blocked')
  return out.get('error')


def test_a_named_pipe_is_not_opened(folder):
  pipe = os.path.join(folder, 'two', 'pipe.png')
  os.mkfifo(pipe)
  error = _load_in_a_thread(data_config('folder:' + folder, bad_files='skip'), pipe)
  assert error is None, error
  error = _load_in_a_thread(data_config('folder:' + folder), pipe)
  _one_line(str(error), r'two/pipe\.png is not an image PIL can read \(not a regular file: a '
            r'named pipe, socket or device\)')


def test_adding_an_image_to_one_class_keeps_the_other_classes_splits():
  labels = np.repeat([0, 1, 2], 20)
  more = np.concatenate([[0], labels])  # One more image of class 0, first: every index shifts.

  def test_positions(labels_N, c):  # Positions within class c of its test images.
    test = own_images.stratified_split(labels_N, 0.2, 'x')[1]
    return np.flatnonzero(np.isin(np.flatnonzero(labels_N == c), test)).tolist()
  for c in (1, 2):
    assert test_positions(more, c) == test_positions(labels, c)
  assert len(test_positions(more, 0)) == 4


def test_own_images_in_the_digit_space_report_no_digit_class_numbers(folder, npz):
  source = data_lib.get_source(data_config('folder:' + folder))
  samples = whole(source.splits['test'])[0]
  for name in ('folder:' + folder, 'mnist5k'):
    config = config_of(name, conditional=False)
    config.eval.num_samples = len(samples)
    config.eval.reference_split = 'test'
    evaluator = features.Features(config, source, (28, 28, 1), 0, {})
    result, protocol = evaluator.metrics_of_samples(samples), evaluator.describe()
    assert protocol['features'] == 'mnist_classifier' and np.isfinite(result['fid'])
    if name == 'mnist5k':  # Digits: the classifier's classes mean something.
      assert np.isfinite(result['inception_score']) and 'features_note' not in protocol
      continue
    assert all(result[k] is None for k in features.DIGIT_CLASS_METRICS), result
    assert 'ten MNIST digits' in protocol['features_note'], protocol


def test_symbolic_links_to_folders_are_followed_once_and_stray_files_said(folder, digits,
                                                                          tmp_path, caplog):
  extra = write_folder(tmp_path / 'elsewhere', digits[0][:5], [0] * 5, names=('x',))
  os.symlink(os.path.join(extra, 'x'), os.path.join(folder, 'zero', 'more'))
  os.symlink(os.path.join(folder, 'zero'), os.path.join(folder, 'zero', 'loop'))  # A loop.
  assert len(own_images._files(os.path.join(folder, 'zero'))) == PER_CLASS + 5
  Image.fromarray(np.zeros((28, 28), np.uint8)).save(os.path.join(folder, 'stray.png'))
  source = data_lib.get_source(data_config('folder:' + folder))
  assert source.splits['train'].size + source.splits['test'].size == 3 * PER_CLASS + 5
  said = [r.getMessage() for r in caplog.records if 'not read' in r.getMessage()]
  assert len(said) == 1 and 'stray.png' in said[0] and '1 file(s) or folder(s)' in said[0], said


def test_fields_take_integers_not_bools_and_labels_of_shape_n_by_1(tmp_path, digits):
  for d in (data_config('folder:x', channels=True), {'channels': 1.0}):  # 1.0: a dict's.
    found = own_images.field_problems(d)
    assert len(found) == 1 and found[0].startswith('data.channels must be 1, 3 or None'), found
  path = str(tmp_path / 'n1.npz')
  np.savez(path, x=digits[0], y=digits[1][:, None])
  found = data_lib.problems(config_of('npz:' + path))
  assert len(found) == 1, found
  _one_line(found[0], r'y has shape \(60, 1\); labels are one integer per image, shape \(N,\) '
            r'\(y\.reshape\(-1\)\)')
