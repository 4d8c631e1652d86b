import sys, h5py, numpy as np
path = sys.argv[1]
f = h5py.File(path, 'r')
h = f['runs/hist']
assert h.dtype == np.uint64 and h.shape == (48, 2, 6), (h.dtype, h.shape)
assert int(h[1, 0, 0]) == 2**53 + 1 + 1000, int(h[1, 0, 0])
assert int(f['runs/hist_half1'][0, 0, 0]) == 2**64 - 1
assert '_FillValue' not in h.attrs and h.fillvalue == 0
assert np.isnan(f['runs/gibbs'].attrs['_FillValue'])
assert [d.label for d in h.dims] == ['run', 'coordinate', 'bin']
assert list(h.attrs['coords']) == [1, 0]
e = f['runs/hist_edges']
assert e.shape == (7,) and e[0] == -2.0 and e[6] == 3.0 and e.dims[0].label == 'edge'
assert list(e.attrs['coords']) == [1, 0]
assert f['runs/hist_obs_edges'].attrs['observable'].decode() == 'f0'
p = f['pooled']
assert p.attrs['description'].decode().startswith('invariant measure pooled')
assert h5py.h5ds.is_scale(p['point'].id) and list(p['point'][:]) == list(range(16))
for name in ['hist', 'samples', 'first_run', 'lr', 'f0', 'eps', 'gibbs2d']:
    assert p[name].dims[0][0].name == '/pooled/point', name
    assert p[name].dims[0].label == 'point', name
assert list(p['run_count'][:]) == [3] * 16 and list(p['run_stride'][:]) == [4] * 16
assert list(p['first_run'][:5]) == [0, 1, 2, 3, 12], p['first_run'][:5]
assert p['hist'].shape == (16, 2, 6) and p['hist'].dtype == np.uint64
assert int(p['samples'][3]) == 2**53 + 1 + 2 * (100000 + 3)
assert p['done'].shape == (1,) and p['done'].dtype == np.uint8 and p['done'][0] == 1
assert 'replica' not in p and 'orbit' not in p
labels = [x.decode() for x in p['f0'].attrs['labels_by_code']]
assert labels[:2] == ['quadratic', 'double_well'], labels
print('h5py reads', path)
