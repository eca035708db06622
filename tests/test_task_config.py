"""TrainConfig: the run's fields plus its task's options (tasks/<task>/config.py), read and set as one object."""

from __future__ import annotations

import dataclasses
import json

import pytest

import ganforge
from ganforge.api import new_run_config
from ganforge.config import TrainConfig
from ganforge.errors import ConfigError
from ganforge.tasks.spec import TaskSpec, register_spec
from ganforge.tasks.template.config import TemplateOptions


def test_an_option_reads_and_sets_through_the_run_config():
    config = TrainConfig(task="pix2pix", l1_weight=5.0)
    assert config.l1_weight == config.options.l1_weight == 5.0
    config.l1_weight = 7.0
    assert config.to_dict()["l1_weight"] == 7.0  # set where config.json reads it
    with pytest.raises(AttributeError):
        _ = config.r1_gamma  # the image task's option is not pix2pix's


def test_replace_copies_the_options_and_changes_either_kind_of_field():
    config = TrainConfig(task="pix2pix", l1_weight=5.0)
    other = dataclasses.replace(config, kimg=5.0, l1_weight=3.0)
    assert (other.kimg, other.l1_weight, config.kimg, config.l1_weight) == (5.0, 3.0, None, 5.0)
    assert other.options is not config.options
    with pytest.raises(ConfigError, match="--r1-gamma applies to image, not to task 'pix2pix'"):
        dataclasses.replace(config, r1_gamma=1.0)
    with pytest.raises(ConfigError, match="task pix2pix takes Pix2PixOptions, not ImageOptions"):
        TrainConfig(task="pix2pix", options=TrainConfig().options)


@pytest.mark.parametrize("values", [dict(augment="none"), dict(augment="auto"), dict(cond=False), dict(r1_gamma=0),
                                    dict(d_norm="auto"), dict(gp_weight=10.0), dict(eval_every_kimg=None)])
def test_another_tasks_option_that_changes_nothing_is_let_through(values):
    assert "augment" not in TrainConfig(task="pix2pix", **values).validate().to_dict()


@pytest.mark.parametrize(("values", "message"), [
    (dict(task="pix2pix", eval_every_kimg=5.0), r"--eval-every applies to image, not to task 'pix2pix' \(evaluate "),
    (dict(task="superres", augment="ada"), "--augment applies to image and text2image, not to task 'superres'"),
    (dict(foo=1, bar=2), "unknown config keys for task image: bar, foo; its keys: ada_kimg"),
    (dict(task="bogus"), r"unknown task 'bogus'; choose one of: attribute, cyclegan, encoder, image, .*video$"),
    (dict(task="video", frames=8, clip_frames=16), "frames 8 and clip_frames 16 disagree"),
    (dict(task="cyclegan", model="linear"), "unknown model 'linear'"),  # the hidden template's model: not named
    (dict(kimg="5"), "--kimg must be a number, got '5'"),
])
def test_config_errors_are_one_line_and_say_what_to_do(values, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**values).validate()


def test_the_old_and_new_name_of_a_renamed_field_agree():
    assert TrainConfig(task="video", frames=8).clip_frames == 8
    assert TrainConfig(task="video", frames=8, clip_frames=8).clip_frames == 8


def test_a_new_run_of_another_task_takes_only_the_run_fields_of_a_config_object():
    config = new_run_config(TrainConfig(kimg=5.0, augment="diffaug"), {"task": "pix2pix"})
    assert (config.task, config.kimg) == ("pix2pix", 5.0) and "augment" not in config.to_dict()


def test_config_files_from_a_newer_ganforge_or_with_unread_options_are_refused(tmp_path):
    values = TrainConfig().to_dict()
    (tmp_path / "new.json").write_text(json.dumps({**values, "config_version": 99}))
    with pytest.raises(ConfigError, match="version 99, written by a newer ganforge"):
        TrainConfig.load(tmp_path / "new.json")
    old = {k: v for k, v in values.items() if k != "config_version"}
    (tmp_path / "old.json").write_text(json.dumps({**old, "extra": {"my_option": 1}}))
    with pytest.raises(ConfigError, match="task options ganforge no longer reads: extra"):
        TrainConfig.load(tmp_path / "old.json")


def test_a_spec_that_cannot_work_is_refused_when_registered():
    with pytest.raises(TypeError, match="options must be a TaskOptions dataclass"):
        register_spec(TaskSpec(name="broken-a", summary="", task="x.task", options=dict))

    @dataclasses.dataclass
    class Shadowing(TemplateOptions):
        seed: int = 0

    with pytest.raises(TypeError, match="redefines the run's fields seed"):
        register_spec(TaskSpec(name="broken-b", summary="", task="x.task", options=Shadowing))
    assert "broken-a" not in [s.name for s in ganforge.tasks.task_specs()]
