"""Running untrusted code: the sandbox's command line (`policy`) and the launcher that
applies cgroup/rlimit limits before exec'ing it (`launch`)."""
