/*
 * Linked into confine-exec (and bench/LaunchFloor) in place of the .NET runtime's two cgroup probes,
 * cgroup.cpp (the GC's memory limit) and cgroupcpu.cpp (the CPU quota behind Environment.ProcessorCount).
 * Defining their six entry points here means the linker never pulls those two members out of
 * libRuntime.WorkstationGC.a (build/NativeStartup.targets puts this object first on the link line).
 *
 * Why: the probes run on every start, before Main. They read /proc/self/mountinfo twice, /proc/self/cgroup
 * twice, statfs /sys/fs/cgroup twice, then the memory controller's memory.use_hierarchy and memory.stat and
 * the CPU controller's cpu.cfs_quota_us — about 220 us of the kernel formatting text on this machine
 * (docs/cli-decisions.md, "Start-up": an empty native-AOT program 1.54 -> 1.30 ms).
 *
 * What is given up: the runtime behaves as outside any cgroup. The GC sizes itself from physical memory, not from
 * a container's memory limit, and Environment.ProcessorCount ignores a CPU quota. confine-exec allocates well
 * under its fixed gen0 budget (GCgen0size in build/NativeImage.props) and runs no thread pool, so neither number changes
 * what it does; the kernel still enforces both limits on it and on PROGRAM. The signatures are those of
 * dotnet/runtime's src/coreclr/gc/unix/cgroup.h and src/coreclr/nativeaot/Runtime/unix/cgroupcpu.h (C++ names,
 * given here as assembler labels); a runtime that renames them fails the link instead of running the probe.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void InitializeCGroup(void) __asm__("_Z16InitializeCGroupv");
void CleanupCGroup(void) __asm__("_Z13CleanupCGroupv");
uint64_t GetRestrictedPhysicalMemoryLimit(void) __asm__("_Z32GetRestrictedPhysicalMemoryLimitv");
bool GetPhysicalMemoryUsed(size_t *used) __asm__("_Z21GetPhysicalMemoryUsedPm");
void InitializeCpuCGroup(void) __asm__("_Z19InitializeCpuCGroupv");
bool GetCpuLimit(uint32_t *limit) __asm__("_Z11GetCpuLimitPj");

void InitializeCGroup(void) {}

void CleanupCGroup(void) {}

/* 0: no cgroup limit (the runtime then uses physical memory and /proc/meminfo). */
uint64_t GetRestrictedPhysicalMemoryLimit(void) { return 0; }

/* Only asked when a limit was found; false sends the caller to its /proc/meminfo path. */
bool GetPhysicalMemoryUsed(size_t *used) { (void)used; return false; }

void InitializeCpuCGroup(void) {}

/* false: no CPU quota; the processor count is the affinity mask's. */
bool GetCpuLimit(uint32_t *limit) { (void)limit; return false; }
