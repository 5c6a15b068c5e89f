// lockhound: who holds the lock, what is the holder stuck on, and who is waiting.
#include <cstdio>

int main() {
    std::puts("lockhound 0.1.0");
    return 0;
}
