"""Function or layer: every place that depends on it reads one Layout."""

from __future__ import annotations

from pip_lambda.plan.layout import FUNCTION, LAYER, layout_of
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target

TARGET = Target(get_runtime("python3.12"), Arch.ARM64)


def test_a_function_lives_at_the_root_of_var_task():
    assert layout_of(False) is FUNCTION
    assert (FUNCTION.prefix, FUNCTION.origin, FUNCTION.sys_path(TARGET)) == ("", "/var/task", ("",))
    assert FUNCTION.library_dirs == ("", "lib") and FUNCTION.default_target == "build/lambda"


def test_a_layer_lives_under_python_in_opt_site_packages_first():
    assert layout_of(True) is LAYER
    assert (LAYER.prefix, LAYER.origin) == ("python/", "/opt/python")
    assert LAYER.sys_path(TARGET) == ("python/lib/python3.12/site-packages", "python")
    assert LAYER.library_dirs == ("lib",) and LAYER.default_target == "build/layer"
