"""How much a question's word can name its topic, by jieba's tagger and general idf table."""

from assistant.core.text import Tokenizer
from assistant.specificity import TermSpecificity


def test_story_words_count_little_and_policy_terms_fully():
    spec = TermSpecificity(Tokenizer())
    q = "我在郑州一个厂干了二十多年，58岁被裁了，失业的钱眼看就要领完，还是找不到活，离退休还差一年多，之后是不是就断了？"
    factor = spec.of(q)
    for story in ("还是", "之后", "二十多年"):  # a conjunction, a localiser, a numeral
        assert factor(story) == spec.floor, story
    for topic in ("失业", "离退休"):
        assert factor(topic) == 1.0, topic
    assert spec.floor < spec.content_floor <= factor("找") < 1.0, "a common verb counts, but less"


def test_a_word_the_general_table_lacks_counts_fully():
    spec = TermSpecificity(Tokenizer())
    assert spec.general_idf("穗好办") == spec.general_idf("\uffff") > 11
    assert spec.of("穗好办怎么申请生育津贴")("穗好办") == 1.0
