import sys, h5py, numpy as np
path, sha = sys.argv[1], sys.argv[5]
R, T, K = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
f = h5py.File(path, 'r')
assert f['runs/status'].shape == (R,), f['runs/status'].shape
assert f['runs/status'].dtype == np.int8
assert f['runs/trace/loss'].shape == (R, K)
assert list(f['runs/status'][:6]) == [1, 2, 3, 4, 5, 1], f['runs/status'][:6]
assert f['runs/loss'][3] == 0.25
assert f['runs/trace/loss'][2, 1] == 2.125
assert np.isnan(f['runs/trace/loss'][1, K - 1])
assert f.attrs['format_version'] == 1
assert f.attrs['job_sha256'].decode() == sha
assert f.attrs['seed'] == 42
assert f['runs/loss'].dims[0].label == 'run'
assert f['runs/loss'].dims[0][0].name == '/runs/run'
assert f['runs/trace/loss'].dims[1][0].name == '/runs/trace/loss_step'
assert list(f['runs/trace/loss_step'][:]) == [5 * k for k in range(K)]
assert 'record' not in f['runs/trace']
s = f['runs/trace/sharpness']
assert s.shape == (R, 6) and s.attrs['record_every'] == 4, s.shape
assert s.dims[1][0].name == '/runs/trace/sharpness_step'
assert list(f['runs/trace/sharpness_step'][:]) == [0, 4, 8, 12, 16, 20]
assert s[4, 0] == 104.0 and np.isnan(s[4, 5])
o = f['runs/orbit']
assert o.shape == (R, 3, 8) and o.dtype == np.float64, o.shape
assert [d.label for d in o.dims] == ['run', 'point', 'coordinate']
assert o.dims[0][0].name == '/runs/run' and 'record_every' not in o.attrs
assert o[3, 2, 5] == 3025.0 and o[3, 0, 0] == -np.inf and np.isnan(o[2, 2, 1])
assert np.isnan(o.attrs['_FillValue'])
names = [x.decode() for x in f['runs/status'].attrs['labels_by_code']]
assert names[2] == 'periodic' and len(names) == 6, names
names = [x.decode() for x in f['runs/reason'].attrs['labels_by_code']]
assert names[0] == 'none' and len(names) == 6, names
assert f['tiles/done'].dims[0][0].name == '/tiles/tile'
assert h5py.h5ds.is_scale(f['axes/lr'].id)
labels = [x.decode() for x in f['axes/activation'].attrs['labels']]
assert labels == ['leaky_relu', 'none', 'relu'], labels
assert f['axes/point'].dims[1].label == 'component'
assert f['tiles/done'][:].all() and f['tiles/done'].shape == (T,)
assert np.isnan(f['runs/loss'].attrs['_FillValue'])
print('h5py reads', path)
