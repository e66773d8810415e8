"""Reads a results file with h5py (test_result_store's H5pyReadsTheFile) and prints a summary."""
import sys

import h5py

with h5py.File(sys.argv[1], "r") as f:
    frames = f["frames"][:]
    errors = f["errors"][:]
    task = f.attrs["task"]
    task = task.decode() if isinstance(task, bytes) else task
    message = errors["message"][0]
    message = message.decode() if isinstance(message, bytes) else message
    image = f["images/7/1"]
    print(f"frames={len(frames)} mean={frames['mean'][0]} "
          f"status={','.join(str(int(s)) for s in frames['status'])} task={task} "
          f"error={message} image={image.shape}")
