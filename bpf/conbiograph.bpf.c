// SPDX-License-Identifier: GPL-2.0
#include "contrace_vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";
