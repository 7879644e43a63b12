"""What the demo campaign is made of: who is written to, in which language
and by which channel, their example addresses, the secretariat's text in each
language, and the replies in the sample mailbox (used by :mod:`outreach.demo`)."""

from __future__ import annotations

DEMO_CAMPAIGN = "demo-third-pillar"
DEMO_DIALOGUE = "demo-ga-dialogue"
DEMO_SENDER = "secretariat@coalition.example"

#: Recipients: the fourteen organizations of the March 2012 letter, and the
#: Shanghai Cooperation Organisation, written to in Chinese.
RECIPIENTS = (
    "ASEAN",
    "AU",
    "CARICOM",
    "EU",
    "EAC",
    "ECOWAS",
    "GCC",
    "IGAD",
    "ICGLR",
    "LAS",
    "OAS",
    "OSCE",
    "OIC",
    "SADC",
    "SCO",
)

#: How each office is reached in the demo: (channel, language). The offices
#: written to by post answer by e-mail (their address is in the directory).
REACH = {
    "ASEAN": ("email", "en"),
    "AU": ("post", "fr"),
    "CARICOM": ("email", "en"),
    "EU": ("email", "en"),
    "EAC": ("post", "en"),
    "ECOWAS": ("post", "fr"),
    "GCC": ("post", "ar"),
    "IGAD": ("email", "en"),
    "ICGLR": ("email", "fr"),
    "LAS": ("post", "ar"),
    "OAS": ("post", "es"),
    "OSCE": ("email", "ru"),
    "OIC": ("post", "ar"),
    "SADC": ("email", "pt"),
    "SCO": ("email", "zh"),
}

#: Postal addresses of the offices written to by post, as an envelope would
#: carry them (the organization's name is printed above them by the letter).
POSTAL = {
    "AU": "Roosevelt Street, W21K19\nAddis Ababa\nEthiopia",
    "EAC": "EAC Close, Afrika Mashariki Road\nArusha\nTanzania",
    "ECOWAS": "101 Yakubu Gowon Crescent, Asokoro District\nAbuja\nNigeria",
    "GCC": "الرياض\nالمملكة العربية السعودية",
    "LAS": "ميدان التحرير\nالقاهرة\nمصر",
    "OAS": "17th Street and Constitution Avenue N.W.\nWashington, D.C. 20006\nEstados Unidos",
    "OIC": "شارع المدينة المنورة\nجدة\nالمملكة العربية السعودية",
}

#: The demo secretariat's name and its signatory's title in each language.
SENDER_TEXT = {
    "en": ("Coalition Secretariat", "Coordinator", "New York"),
    "fr": ("Secrétariat de la coalition", "Coordinatrice", "New York"),
    "es": ("Secretaría de la coalición", "Coordinadora", "Nueva York"),
    "pt": ("Secretariado da coalizão", "Coordenadora", "Nova Iorque"),
    "ar": ("أمانة التحالف", "المنسقة", "نيويورك"),
    "ru": ("Секретариат коалиции", "Координатор", "Нью-Йорк"),
    "zh": ("联盟秘书处", "协调员", "纽约"),
}

#: Offices with no e-mail address in the demo: post only.
POST_ONLY = ("GCC", "LAS", "OIC")

#: E-mail letters left unsent at the end (still approved): "a few sent".
HELD_BACK = ("OSCE", "SADC")

#: Days before today the post letters went out, and the reminders.
POST_SENT_DAYS_AGO = 26
REMINDERS_SENT_DAYS_AGO = 3

#: Replies by e-mail in the sample mailbox: (acronym, days ago, subject, body,
#: stance the coordinator gives it after reading). Days ago ``0`` is a reply
#: to an e-mail letter sent today (matched by its thread); the others answer
#: letters sent by post (matched by the sender's address).
EMAIL_REPLIES = (
    (
        "OAS",
        20,
        "Acuse de recibo",
        "Acusamos recibo de su carta. La Secretaría General la está estudiando "
        "y le responderá en las próximas semanas.",
        "acknowledgement",
    ),
    (
        "EAC",
        15,
        "Re: dialogue on the responsibility to protect",
        "Thank you for your letter. Regrettably the Secretariat will not be able "
        "to take part in this year's dialogue.",
        "decline",
    ),
    (
        "AU",
        12,
        "Votre lettre sur le dialogue",
        "Nous accusons réception de votre lettre, qui a été transmise au "
        "Département des affaires politiques. Le Commissaire prendra la parole "
        "lors du dialogue.",
        "commitment",
    ),
    (
        "ECOWAS",
        5,
        "Votre lettre sur le troisième pilier",
        "La Commission salue cette initiative et partagera volontiers son "
        "expérience en matière d'alerte précoce avec les États membres.",
        "supportive",
    ),
    (
        "CARICOM",
        0,
        "Automatic acknowledgement: your letter",
        "Your message has been received by the Office of the Secretary-General "
        "and will be brought to the attention of the relevant department.",
        "acknowledgement",
    ),
)

#: Mail in the same mailbox that is not a reply: it waits in the unmatched queue.
NOISE = (
    "newsletter@news.example",
    "Weekly digest: regional security news",
    "This week's headlines from around the regions.",
)
