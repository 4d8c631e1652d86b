#include <stdio.h>
int main(void) { puts("lrzoo: not built yet"); return 1; }
