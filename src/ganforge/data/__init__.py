"""The data layer: folders, zips and built-in datasets become prepared uint8 arrays.

resolve_dataset("emoji", 64)          # built-in, fetched and resized once
resolve_dataset("~/faces.zip", 128)   # raw folder or zip, prepared on the fly and cached
prepare_folder(src, out, 256)         # what `ganforge data prepare` runs
resolve_paired("edges:emoji", 64, split="test")         # translation pairs with a held-out split
resolve_unpaired("emoji", 64, direction="BtoA")         # two disjoint domains
sample_mask("mixed", (64, 64), rng)   # an inpainting hole mask, True = fill
"""

from __future__ import annotations

from ganforge.data.builtin import BUILTINS, BuiltinDataset, builtin_names, get_builtin, parse_builtin
from ganforge.data.dataset import ImageDataset, is_prepared, load_prepared, save_prepared
from ganforge.data.folder import ScanResult, load_image, scan_images
from ganforge.data.masks import (
    BUCKETS,
    fixed_test_masks,
    load_mask,
    mask_area,
    outpaint_mask,
    sample_mask,
    save_mask,
)
from ganforge.data.paired import PairedData, resolve_paired
from ganforge.data.prepare import folder_fingerprint, prepare_folder
from ganforge.data.resize import check_resolution, resize_dataset
from ganforge.data.resolve import resolve_dataset
from ganforge.data.split import split_indices
from ganforge.data.unpaired import UnpairedData, resolve_unpaired

__all__ = [
    "BUCKETS",
    "BUILTINS",
    "BuiltinDataset",
    "ImageDataset",
    "PairedData",
    "ScanResult",
    "UnpairedData",
    "builtin_names",
    "check_resolution",
    "fixed_test_masks",
    "folder_fingerprint",
    "get_builtin",
    "is_prepared",
    "load_image",
    "load_mask",
    "load_prepared",
    "mask_area",
    "outpaint_mask",
    "parse_builtin",
    "prepare_folder",
    "resize_dataset",
    "resolve_dataset",
    "resolve_paired",
    "resolve_unpaired",
    "sample_mask",
    "save_mask",
    "save_prepared",
    "scan_images",
    "split_indices",
]
