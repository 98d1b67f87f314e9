"""Flags shared by the commands that run a trained model or read a dataset outside a config
(``predict``, ``extract``, ``data stats``). It imports nothing heavy: ``autorc predict --help``
loads neither torch nor the pipeline."""

from __future__ import annotations

import argparse


def add_data_root_arg(p: argparse.ArgumentParser) -> None:
    """``--data-root``, where registered datasets live (of the commands that read one outside
    a config)."""
    p.add_argument(
        "--data-root", metavar="DIR", help="where registered datasets live ($AUTORC_DATA_DIR)"
    )


def add_inference_args(p: argparse.ArgumentParser) -> None:
    """``--batch-size`` and ``--device`` of the commands that run a trained model."""
    p.add_argument(
        "--batch-size",
        type=int,
        default=32,
        help="statements per forward pass (texts per encoder pass for a standard-input model, "
        "whose statements of one text share it: span NER, several pairs a sentence)",
    )
    p.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="cpu",
        help="where the model runs (default cpu)",
    )
