// Every stackalloc'd buffer here is read only as far as it was filled (a pread's count, a readlink's length):
// zeroing them first cost more than the reads themselves (4 KiB per readlink, 1 KiB per object head).
[module: System.Runtime.CompilerServices.SkipLocalsInit]
