"""Starts LocalStack (localstack.runtime.main) with every file it writes under FILESYSTEM_ROOT.

LocalStack 4.13's S3 keeps object bodies above 512 KiB in files under a fixed directory,
/tmp/localstack-s3-storage, whatever FILESYSTEM_ROOT says; two LocalStacks on one machine would share
it and a killed one would leave it behind. Its provider reads the path when it is created, so setting it
here, before the runtime starts, moves it under FILESYSTEM_ROOT with the rest.
"""
import os
import runpy

import localstack.services.s3.provider as s3_provider

s3_provider.DEFAULT_S3_TMP_DIR = os.path.join(os.environ["FILESYSTEM_ROOT"], "s3-storage")
runpy.run_module("localstack.runtime.main", run_name="__main__", alter_sys=True)
