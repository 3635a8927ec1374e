static_assert(sizeof(int) == 3, "ints are not three bytes");

int main() {
    return 0;
}
