"""Reads a results file with stages with h5py (test_result_store's H5pyReadsTheStagedFile) and
prints one line for the root, then one line per stage: its tables, scalar columns, errors, images,
boxes and aggregates."""
import sys

import h5py


def text(value):
    return value.decode() if isinstance(value, bytes) else value


with h5py.File(sys.argv[1], "r") as f:
    stages = text(f.attrs["stages"]).split(",")
    print(f"version={int(f.attrs['ride_results_version'])} stages={','.join(stages)} "
          f"root={','.join(sorted(f.keys()))} task={text(f.attrs['task'])}")
    for stage in stages:
        g = f["stages"][stage]
        frames = g["frames"][:]
        names = frames.dtype.names
        scalars = names[names.index("status") + 1:]
        line = (f"{stage}: tables={','.join(sorted(g.keys()))} frames={len(frames)} "
                f"scalars={','.join(scalars)} first={','.join(str(frames[s][0]) for s in scalars)}")
        errors = g["errors"][:]
        line += f" errors={';'.join(text(m) for m in errors['message'])}"
        for kind in ("images", "boxes", "keypoints"):
            if kind in g:
                shapes = []
                g[kind].visititems(lambda name, obj: shapes.append(f"{name}{obj.shape}")
                                   if isinstance(obj, h5py.Dataset) else None)
                line += f" {kind}={';'.join(shapes)}"
        if "boxes" in g:
            first = next(iter(g["boxes"].values()))
            line += f" box_columns={text(next(iter(first.values())).attrs['columns'])}"
        if "aggregates" in g:
            agg = g["aggregates"]
            rows = [f"{r['stream']}/{text(r['scalar'])}/{r['count']}/"
                    f"{r['sum']}/{r['min']}/{r['max']}" for r in agg[:]]
            line += f" aggregates={';'.join(rows)} source={text(agg.attrs['source'])}"
        print(line)
