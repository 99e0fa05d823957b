// common/entry_returned.cpp: what happens when an entry function returns.
//
// The trampoline in asm/<arch>/switch.S calls an entry function on a fresh
// stack. Nothing sits above that call to return to, so if the entry function
// returns, the trampoline calls this function instead of running off the top
// of the stack. It lives in C++ because printing is easier here than in
// assembly, and in common/ because asm/ is shared by every chapter.
#include <cstdio>
#include <cstdlib>

extern "C" [[noreturn]] void cfs_entry_returned(void* sp) {
  std::fprintf(stderr,
               "cfs: the entry function running on the stack at sp=%p returned;"
               " an entry function has no caller to return to and must switch"
               " away instead\n",
               sp);
  std::fflush(stderr);
  std::abort();
}
