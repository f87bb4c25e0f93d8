"""How customers say each reason: the phrasings a comment is compared with (assist/reasons.py).

Written apart from the labelled set in tests/data/reason_comments.tsv, which measures them.
"""

from domain.returns import Reason

PHRASINGS: dict[Reason, list[str]] = {
    Reason.DEFECTIVE: [
        "it does not work",
        "stopped working, broken device",
        "won't turn on, no power",
        "faulty, malfunctioning",
        "came apart, the stitching failed",
        "the button, zip or battery is broken",
        "makes a strange noise and stops working",
    ],
    Reason.DAMAGED: [
        "arrived damaged in shipping",
        "the package was crushed and the item cracked",
        "broken on arrival, shattered glass",
        "scratched and dented when it arrived",
        "damaged by the courier during delivery",
        "the box was torn and wet, contents ruined",
    ],
    Reason.WRONG_ITEM: [
        "you sent the wrong item",
        "I received a different product than I ordered",
        "wrong colour or wrong size sent",
        "not the item on my order",
        "received something else instead",
        "wrong model delivered",
    ],
    Reason.MISSING_ITEM: [
        "an item is missing from the package",
        "parts missing, not included in the box",
        "the box was empty",
        "only some of my order was in the parcel",
        "accessories not included",
        "fewer pieces than the set should have",
    ],
    Reason.NOT_AS_DESCRIBED: [
        "not as described on the website",
        "looks different from the photos in the listing",
        "the material is not what was advertised",
        "the description was misleading",
        "the specifications do not match the product page",
        "it was sold as something it is not",
    ],
    Reason.QUALITY_ISSUE: [
        "poor quality, cheap material",
        "badly made, low quality finish",
        "faded, shrank or pilled after washing",
        "food was not fresh, stale or rotten",
        "spoiled, mouldy, overripe produce",
        "flimsy and cheaply made",
    ],
    Reason.CHANGED_MIND: [
        "I changed my mind",
        "I don't want it anymore",
        "no longer needed",
        "ordered by mistake",
        "nothing wrong with it, I just don't like it",
        "bought it but decided against it",
    ],
    Reason.SIZE_FIT: [
        "it doesn't fit",
        "too small, I need a bigger size",
        "too big, I need a smaller size",
        "too tight or too loose",
        "too long or too short",
        "the size runs small or large",
    ],
    Reason.BETTER_PRICE: [
        "found it cheaper elsewhere",
        "a better price at another shop",
        "the price dropped after I bought it",
        "on sale for less now",
        "another retailer sells it for less",
    ],
    Reason.NOT_RECEIVED: [
        "my parcel never arrived",
        "I never received the package",
        "tracking says delivered but nothing came",
        "the order was lost in transit",
        "still waiting for the delivery",
    ],
}
