class Solution:
    def twoSum(self, nums: list[int], target: int) -> list[int]:  # noqa: N802 - the judge's name
        seen: dict[int, int] = {}
        for i, x in enumerate(nums):
            if target - x in seen:
                return [seen[target - x], i]
            seen[x] = i
        return []
