"""Task template: the smallest complete task. Copy this folder to start a new one (docs/architecture.md, "How to
add a task"):

    cp -r src/ganforge/tasks/template src/ganforge/tasks/my_task

then rename `template`/`Template` in its files (the imports, `TASKS.register`, the network's `NETWORKS` name),
write a one-line summary below and drop `hidden=True`: `ganforge train my_task --help` lists your options. Nothing
outside the folder is edited.

This file registers the task's spec (tasks/spec.py), the one record that ties its parts together; each part is a
module, imported only when a command needs it. `folder_spec` names the task after its folder and finds the parts
by file name:

- task.py: registers the Task class (TASKS); config.py: the options dataclass, given below.
- pipeline.py: registers the pipeline that `ganforge.load` returns for your runs, under the name `export_spec()`
  gives (`@PIPELINES.register("my_task")`).
- evaluate.py: registers that pipeline's evaluator, run by `ganforge eval RUN` (`@EVALUATORS.register("my_task")`;
  metrics/harness.py).
- cli.py: `VERBS = {"my-verb": typer_function}`, commands added to `ganforge`, and how `ganforge sample` writes
  your pipeline's output (`@SAMPLERS.register("my_task")`, cli/sample.py).

The template has none of the last three: `parts_from` takes the image task's (its pipeline "image", its
evaluator, and its cli.py, which has no verbs but the sample writer). A copy that writes its own drops
`parts_from`. Where the name or the parts are elsewhere, give the spec in full: `TaskSpec(name=, summary=, task=,
options=, pipelines=(modules,), evaluators=(modules,), commands=(modules,))`.

A package outside ganforge registers its spec the same way in its `__init__.py` and announces that module with an
entry point in its pyproject.toml; tests/test_task_plugin.py builds one with every part:

    [project.entry-points."ganforge.tasks"]
    my-task = "my_package.my_task"
"""

from ganforge.tasks.spec import folder_spec, register_spec
from ganforge.tasks.template.config import TemplateOptions

SPEC = register_spec(folder_spec(
    __name__, "The smallest complete task, to copy: a linear generator and discriminator.", TemplateOptions,
    parts_from="ganforge.tasks.image",  # pipeline, evaluator and sample writer: the image task's
    hidden=True,  # left out of `ganforge train --help`; a real task drops this
))
