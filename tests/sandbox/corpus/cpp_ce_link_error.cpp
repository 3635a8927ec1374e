int declared_but_never_defined(int);

int main() {
    return declared_but_never_defined(1);
}
