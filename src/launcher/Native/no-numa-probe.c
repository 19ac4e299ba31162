/*
 * Linked into confine-exec (and bench/LaunchFloor) in place of the .NET runtime's NUMA probe, numasupport.cpp of
 * libRuntime.WorkstationGC.a (build/NativeStartup.targets puts this object first on the link line, so that member
 * is never pulled in).
 *
 * Why: NUMASupportInitialize() runs on every start, before Main: get_mempolicy, then an open, fstat, two getdents
 * and a close of /sys/devices/system/node to count the nodes. The workstation GC confine-exec links never binds
 * memory to a node (only the server GC's heap affinitization asks), so the answer is not used.
 *
 * What this gives: the probe's own answer on a one-node machine, "NUMA not available" (g_numaAvailable false),
 * which the runtime's callers check before asking for a node. The names are those of dotnet/runtime's
 * src/coreclr/gc/unix/numasupport.h (C++ names, given here as assembler labels).
 */
#include <stdbool.h>

extern int g_highestNumaNode __asm__("g_highestNumaNode");
extern bool g_numaAvailable __asm__("g_numaAvailable");
void NUMASupportInitialize(void) __asm__("_Z21NUMASupportInitializev");
int GetNumaNodeNumByCpu(int cpu) __asm__("_Z19GetNumaNodeNumByCpui");
long BindMemoryPolicy(void *start, unsigned long len, const unsigned long *nodemask, unsigned long maxnode)
    __asm__("_Z16BindMemoryPolicyPvmPKmm");

int g_highestNumaNode = 0;
bool g_numaAvailable = false;

void NUMASupportInitialize(void) {}

/* -1: no node, as the runtime answers where it has no NUMA support. */
int GetNumaNodeNumByCpu(int cpu) { (void)cpu; return -1; }

long BindMemoryPolicy(void *start, unsigned long len, const unsigned long *nodemask, unsigned long maxnode)
{
    (void)start; (void)len; (void)nodemask; (void)maxnode;
    return -1;
}
