#include <algorithm>
#include <iostream>
#include <map>
#include <vector>
using namespace std;

int main() {
    int n;
    cin >> n;
    vector<int> v(n);
    for (auto& x : v) cin >> x;
    sort(v.begin(), v.end());
    map<int, int> freq;
    for (int x : v) freq[x]++;
    cout << v.front() << ' ' << v.back() << ' ' << freq.size() << '\n';
    return 0;
}
