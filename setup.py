"""Build of the one C extension: media._fanout, the relay's fan-out loop (media/fanout.py).

Everything else is in pyproject.toml. The extension is optional: where it cannot be
compiled, installation goes on and media/fanout.py uses its pure-Python twin.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("media._fanout", ["media/_fanout.c"], optional=True,
                  extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter",
                                      "-Wno-missing-field-initializers", "-Wno-cast-function-type"]),
    ],
)
