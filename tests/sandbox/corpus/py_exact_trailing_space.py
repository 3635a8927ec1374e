print(input().strip() + " ")
