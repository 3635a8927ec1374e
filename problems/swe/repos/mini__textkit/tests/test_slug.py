from textkit import slugify


def test_lower():
    assert slugify("Hello") == "hello"


def test_spaces():
    assert slugify("hello world") == "hello-world"


def test_strips_edges():
    assert slugify(" hi! ") == "hi"
