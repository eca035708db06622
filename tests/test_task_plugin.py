"""A complete task from outside ganforge: a package written into tmp_path, found through the `ganforge.tasks` entry
point, and driven through the `ganforge` command line (train, sample, eval, its own verb) without a line of ganforge
edited. PLUGIN below is the minimum a task needs, each file in its own module as in tasks/<task>/ (docs/architecture.md,
"How to add a task"); its evaluator computes pixel statistics, not Inception features, so the test stays fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from PIL import Image

import ganforge

PLUGIN = {
    "__init__.py": '''
        """The plugin task's spec: the one record that names every part (ganforge/tasks/spec.py)."""
        from ganforge.tasks.spec import TaskSpec, register_spec
        from gf_plugin_task.config import PluginOptions

        SPEC = register_spec(TaskSpec(
            name="plugin",
            summary="A plugin task: MLP generator and discriminator.",
            task="gf_plugin_task.task",
            options=PluginOptions,
            pipelines=("gf_plugin_task.pipeline",),
            evaluators=("gf_plugin_task.evaluate",),
            commands=("gf_plugin_task.cli",),
        ))
    ''',
    "config.py": '''
        """Its options: `ganforge train plugin --help` is generated from them."""
        from __future__ import annotations  # (the train command reads each option's type from its annotation's text)

        from dataclasses import dataclass
        from typing import Any, ClassVar

        from ganforge.options import option
        from ganforge.tasks.options import GANOptions

        @dataclass
        class PluginOptions(GANOptions):  # loss, lr_g, lr_d, beta1, beta2, width: the models fill them in
            MODELS: ClassVar[dict[str, dict[str, Any]]] = {
                "mlp": dict(loss="ns", lr_g=1e-3, lr_d=1e-3, beta1=0.5, beta2=0.999, width=32),
            }
            DEFAULTS: ClassVar[dict[str, Any]] = dict(lr_decay_start=1.0, ema_kimg=1.0, batch=8)

            z_dim: int = option(8, "Latent size.", minimum=1)
            leak: float = option(0.2, "Negative slope of the MLPs' LeakyReLU.", minimum=0, maximum=1)
    ''',
    "task.py": '''
        """Its Task: the networks, the step as phases, the sample grids and how a pipeline rebuilds G."""
        import torch
        from torch import nn

        from ganforge.engine.phases import Phase, PhaseRunner, StepContext
        from ganforge.losses.adversarial import NonSaturatingLoss
        from ganforge.registry import NETWORKS, TASKS
        from ganforge.tasks.base import Task
        from ganforge.tasks.image.task import gan_optimizers

        def mlp(n_in, hidden, n_out, leak):
            return nn.Sequential(nn.Linear(n_in, hidden), nn.LeakyReLU(leak), nn.Linear(hidden, n_out))

        @NETWORKS.register("plugin.generator")  # rebuilt by name from model.json
        class MLPGenerator(nn.Module):
            def __init__(self, z_dim, hidden, leak, channels, resolution):
                super().__init__()
                self.shape = (channels, resolution, resolution)
                self.net = nn.Sequential(mlp(z_dim, hidden, channels * resolution**2, leak), nn.Tanh())

            def forward(self, z, labels=None):
                return self.net(z).view(-1, *self.shape)

        @TASKS.register("plugin")
        class PluginTask(Task):
            name = "plugin"
            loss_names = ("Loss/D/adv", "Loss/G/adv")

            def __init__(self, config, data):
                super().__init__(config, data)
                self.g_kwargs = dict(z_dim=config.z_dim, hidden=config.width, leak=config.leak,
                                     channels=data.channels, resolution=data.resolution)
                self.G = MLPGenerator(**self.g_kwargs)
                self.D = nn.Sequential(nn.Flatten(), mlp(data.channels * data.resolution**2, config.width, 1,
                                                         config.leak))
                self.networks = {"G": self.G, "D": self.D}
                self.optimizers = gan_optimizers(config, self.G.parameters(), self.D.parameters())
                self.loss = NonSaturatingLoss()
                self.runner = PhaseRunner(self, forward=self.generate, sync=(self.G, self.D), phases=[
                    Phase("Dmain", "D", self.D, loss=self.d_loss),
                    Phase("Gmain", "G", self.G, loss=self.g_loss, frozen=(self.D,)),
                ])

            def generate(self, ctx):
                ctx.fake = self.G(torch.randn(ctx.real.shape[0], self.config.z_dim, device=self.runtime.device))

            def d_loss(self, ctx):
                loss = self.loss.d_loss(self.D(ctx.real).float(), self.D(ctx.fake.detach()).float())
                return loss, {"Loss/D/adv": loss.detach()}

            def g_loss(self, ctx):
                loss = self.loss.g_loss(self.D(ctx.fake).float())
                return loss, {"Loss/G/adv": loss.detach()}

            def train_step(self, batch, step):
                return self.runner.run(StepContext(step, real=batch["image"]))

            def fixed_inputs(self, n, seed):
                return {"z": torch.randn(n, self.config.z_dim, generator=torch.Generator().manual_seed(seed))}

            def visuals(self, networks, inputs):
                G = networks.get("G_ema", networks["G"])
                return G(inputs["z"].to(next(G.parameters()).device))

            def export_spec(self):
                return {"pipeline": "plugin", "z_dim": self.config.z_dim, "class_names": [],
                        "resolution": self.data.resolution, "channels": self.data.channels,
                        "components": {"generator": {"class": "plugin.generator", "kwargs": self.g_kwargs,
                                                     "network": "G"}}}
    ''',
    "pipeline.py": '''
        """Its pipeline, under the name export_spec() gives: the image pipeline and one method of its own."""
        from ganforge.pipelines.base import PIPELINES
        from ganforge.tasks.image.pipeline import ImageGenerationPipeline

        @PIPELINES.register("plugin")
        class PluginPipeline(ImageGenerationPipeline):
            def brightness(self, n=16):
                """Mean pixel value, 0..1, of n generated images (seeds 0..n-1)."""
                return float(self(n=n, output_type="np").mean() / 255)
    ''',
    "evaluate.py": '''
        """Its evaluation, `ganforge eval RUN`: pixel statistics of generated and real images side by side."""
        from ganforge.data import resolve_dataset
        from ganforge.metrics.harness import EVALUATORS, Evaluator, run_data

        def pixel_stats(images):  # uint8 [N, H, W, C]
            x = images / 255.0
            return {"mean": float(x.mean()), "std": float(x.std())}

        def evaluate_plugin(pipe, data=None, n=None, inception=None, device="cpu", progress=None):
            _, data = run_data(pipe, data)
            real = resolve_dataset(data, pipe.resolution).images
            n = n or min(len(real), 64)
            return {"task": "plugin", "data": data, "n": n,
                    "model": pixel_stats(pipe(n=n, output_type="np")), "real": pixel_stats(real[:n])}

        @EVALUATORS.register("plugin")
        class PluginEvaluator(Evaluator):
            runs = "plugin runs"
            columns = ("model", "real")
            run = evaluate_plugin
    ''',
    "cli.py": '''
        """Its commands: one verb of its own, and how `ganforge sample` writes its models' images."""
        from pathlib import Path

        import typer

        from ganforge.cli.sample import SAMPLERS
        from ganforge.errors import GanforgeError
        from ganforge.imaging import make_grid, save_image

        @SAMPLERS.register("plugin")  # the pipeline's name
        def write_grid(pipe, ask):
            if ask.as_folder:
                raise GanforgeError("plugin models write one grid: give --out grid.png")
            return str(save_image(make_grid(pipe(seeds=list(ask.seeds), output_type="np"), ask.nrow), ask.out))

        def brightness(run: Path = typer.Argument(..., help="A plugin run directory or export."),
                       n: int = typer.Option(16, "--n", help="Images to average.")) -> None:
            """Print the mean brightness (0..1) of n generated images."""
            from ganforge.api import load

            typer.echo(f"brightness {load(run).brightness(n):.4f}")

        VERBS = {"plugin-brightness": brightness}
    ''',
}
DIST_INFO = {  # what `pip install` of the package would write: importlib.metadata reads the entry point from it
    "METADATA": "Metadata-Version: 2.1\nName: gf-plugin-task\nVersion: 0.1\n",
    "entry_points.txt": "[ganforge.tasks]\nplugin = gf_plugin_task\n",
}
SRC = Path(ganforge.__file__).resolve().parent


def write_plugin(root: Path) -> None:
    (root / "gf_plugin_task").mkdir()
    for name, text in PLUGIN.items():
        (root / "gf_plugin_task" / name).write_text(textwrap.dedent(text).lstrip())
    (root / "gf_plugin_task-0.1.dist-info").mkdir()
    for name, text in DIST_INFO.items():
        (root / "gf_plugin_task-0.1.dist-info" / name).write_text(text)


def source_hashes() -> dict[str, str]:
    """sha256 of every file of the ganforge package (bytecode caches left out)."""
    return {str(p.relative_to(SRC)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(SRC.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def test_a_task_from_outside_ganforge_trains_samples_evaluates_and_adds_a_verb(tmp_path):
    before = source_hashes()
    plugin_root = tmp_path / "site"
    plugin_root.mkdir()
    write_plugin(plugin_root)
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(p for p in (str(plugin_root), os.environ.get("PYTHONPATH")) if p))

    def ganforge_cli(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "ganforge.cli.main", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert (done.returncode == 0) == ok, f"ganforge {' '.join(args)}: exit {done.returncode}\n{done.stderr}"
        return done

    # The entry point makes it a task: listed by `train --help`, its own options in `train plugin --help`, its verb
    # in `ganforge --help`.
    assert "A plugin task: MLP generator" in ganforge_cli("train", "--help").stdout
    help_text = ganforge_cli("train", "plugin", "--help").stdout
    assert "--leak" in help_text and "Negative slope of the MLPs' LeakyReLU. [default: 0.2]" in " ".join(
        help_text.split())
    assert "mlp" in help_text and "--l1-weight" not in help_text
    assert "plugin-brightness" in ganforge_cli("--help").stdout
    # Its options belong to it: another task refuses them, naming it.
    refused = ganforge_cli("train", "image", "--leak", "0.1", ok=False)
    assert "--leak applies to plugin, not to task 'image'" in refused.stderr

    ganforge_cli("train", "plugin", "--data", "digits", "--resolution", "8", "--batch", "8", "--kimg", "0.032",
                 "--leak", "0.1", "--tick", "0.016", "--grid-size", "4", "--runs-dir", "runs", "--name", "p")
    run = tmp_path / "runs" / "p"
    config = json.loads((run / "config.json").read_text())
    assert (config["task"], config["model"], config["leak"], config["width"]) == ("plugin", "mlp", 0.1, 32)
    assert json.loads((run / "model.json").read_text())["pipeline"] == "plugin"
    assert list((run / "checkpoints").glob("kimg-*"))

    sampled = ganforge_cli("sample", str(run), "--n", "4", "--out", "grid.png")
    assert sampled.stdout.strip().endswith("grid.png")
    with Image.open(tmp_path / "grid.png") as grid:  # 2 x 2 images of 8 px with 2 px borders
        assert grid.size == (22, 22)

    result = json.loads(ganforge_cli("eval", str(run), "--eval-n", "8", "--json").stdout)
    assert (result["task"], result["data"], result["n"]) == ("plugin", "digits", 8)
    assert set(result["model"]) == set(result["real"]) == {"mean", "std"}
    table = ganforge_cli("eval", str(run), "--eval-n", "8").stdout
    assert table.startswith("plugin: n = 8") and "real" in table.splitlines()[1]

    brightness = ganforge_cli("plugin-brightness", str(run), "--n", "4").stdout.split()
    assert brightness[0] == "brightness" and 0 <= float(brightness[1]) <= 1

    after = source_hashes()
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not changed, f"ganforge's source tree changed while the plugin was added and run: {changed}"


def test_a_plugin_imported_before_ganforge_is_found_by_the_python_api(tmp_path):
    """`import my_task` first, then `ganforge.train(task=...)` and `ganforge.load`: the spec registered after
    ganforge's own discovery is still the one the trainer and the pipelines use."""
    plugin_root = tmp_path / "site"
    plugin_root.mkdir()
    write_plugin(plugin_root)
    script = textwrap.dedent(f"""
        import gf_plugin_task  # before ganforge.tasks has imported anything
        import ganforge
        result = ganforge.train(task="plugin", data="digits", resolution=8, batch=8, kimg=0.016, tick_kimg=0.008,
                                grid_size=4, out={str(tmp_path / "runs")!r}, name="p")
        print(result.status, ganforge.load(result.run_dir)(n=2, output_type="np").shape)
    """)
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(p for p in (str(plugin_root), os.environ.get("PYTHONPATH")) if p))
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["finished", "(2,", "8,", "8,", "1)"]


def test_a_broken_plugin_is_a_warning_not_a_broken_command_line(tmp_path):
    """A plugin whose task module fails to import is left out, with a warning; every other command works."""
    package = tmp_path / "gf_broken_task"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent("""
        from ganforge.tasks.spec import TaskSpec, register_spec
        from ganforge.tasks.template.config import TemplateOptions

        register_spec(TaskSpec(name="broken", summary="A plugin whose task module fails.",
                               task="gf_broken_task.task", options=TemplateOptions))
    """))
    (package / "task.py").write_text("raise ImportError('a dependency this plugin needs is missing')\n")
    (tmp_path / "gf_broken_task-0.1.dist-info").mkdir()
    (tmp_path / "gf_broken_task-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: gf-broken-task\n"
                                                                        "Version: 0.1\n")
    (tmp_path / "gf_broken_task-0.1.dist-info" / "entry_points.txt").write_text("[ganforge.tasks]\n"
                                                                                "broken = gf_broken_task\n")
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p))
    done = subprocess.run([sys.executable, "-m", "ganforge.cli.main", "train", "--help"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "image" in done.stdout and "broken" not in done.stdout
    assert "task plugin broken: gf_broken_task.task failed to import" in done.stderr
