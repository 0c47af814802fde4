/**
 * Time zones by the area part of a number, for countries that span several zones and
 * whose numbers say where they are: the North American area code, the Russian ABC code,
 * the Australian area digit, the Brazilian DDD (mobiles keep theirs too), the Mexican
 * area code. Keys are the digits after the + (calling code then area). Hand-made and
 * deliberately partial: an area code that straddles a zone line (e.g. US 208, 605, 850;
 * CA 807, 867) or a mobile range that is not tied to a place (RU 9xx, AU 4) is left out,
 * so such numbers get every zone of their country (send/quiet-zones.ts), which never
 * sends inside anyone's window.
 */
const BY_ZONE: Record<string, string> = {
	// United States
	'America/New_York':
		'203 475 860 959 302 202 771 239 305 321 352 386 407 448 561 656 689 727 754 772 786 813 863 904 941 954 229 404 470 478 678 706 762 770 912 943 207 227 240 301 410 443 667 339 351 413 508 617 774 781 857 978 231 248 269 313 517 586 616 679 734 810 947 989 603 201 551 609 640 732 848 856 862 908 973 212 315 332 347 363 516 518 585 607 631 646 680 716 718 838 845 914 917 929 934 252 336 472 704 743 828 910 919 980 984 216 220 234 283 326 330 380 419 436 440 513 567 614 740 937 215 223 267 272 412 445 484 570 582 610 717 724 814 835 878 401 803 821 839 843 854 864 802 276 434 540 571 703 757 804 826 948 304 681 260 317 463 765 502 606 859 423 865',
	'America/Chicago':
		'205 251 256 334 659 938 479 501 870 327 217 224 309 312 331 447 464 618 630 708 730 773 779 815 847 861 872 319 515 563 641 712 316 620 785 913 225 318 337 504 985 218 320 507 612 651 763 952 228 601 662 769 314 417 557 573 636 660 816 975 402 531 701 405 539 572 580 918 210 214 254 281 325 346 361 409 430 432 469 512 682 713 726 737 806 817 830 832 903 940 945 956 972 979 262 274 414 534 608 715 920 615 629 731 901 931 270 364 219',
	'America/Denver': '303 719 720 970 983 406 505 575 385 435 801 307 915',
	'America/Phoenix': '480 520 602 623 928',
	'America/Los_Angeles':
		'209 213 279 310 323 341 350 369 408 415 424 442 510 530 559 562 619 626 628 650 657 661 669 707 714 747 760 805 818 820 831 840 858 909 916 925 949 951 458 503 541 971 206 253 360 425 509 564 702 725 775',
	'America/Anchorage': '907',
	'Pacific/Honolulu': '808',
	// Canada
	'America/Vancouver': '236 250 604 672 778',
	'America/Edmonton': '368 403 587 780 825',
	'America/Regina': '306 474 639',
	'America/Winnipeg': '204 431 584',
	'America/Toronto': '226 249 289 343 365 382 416 437 519 548 613 647 683 705 742 753 905 263 354 367 418 438 450 468 514 579 581 819 873',
	'America/Moncton': '428 506',
	'America/Halifax': '782 902',
	'America/St_Johns': '709 879'
};

/** Other countries: calling code + area → zone. */
const BY_PREFIX: Record<string, string> = {
	// Russia (+7, ABC codes)
	'7495': 'Europe/Moscow', '7499': 'Europe/Moscow', '7498': 'Europe/Moscow', '7812': 'Europe/Moscow', '7843': 'Europe/Moscow',
	'7831': 'Europe/Moscow', '7861': 'Europe/Moscow', '7863': 'Europe/Moscow', '7473': 'Europe/Moscow', '7401': 'Europe/Kaliningrad',
	'7846': 'Europe/Samara', '7343': 'Asia/Yekaterinburg', '7351': 'Asia/Yekaterinburg', '7342': 'Asia/Yekaterinburg',
	'7381': 'Asia/Omsk', '7383': 'Asia/Novosibirsk', '7391': 'Asia/Krasnoyarsk', '7395': 'Asia/Irkutsk', '7423': 'Asia/Vladivostok',
	'7421': 'Asia/Vladivostok', '7411': 'Asia/Yakutsk', '7413': 'Asia/Magadan', '7415': 'Asia/Kamchatka',
	// Australia (+61, area digit; 8 is SA, WA and NT: left to the country's zones)
	'612': 'Australia/Sydney', '613': 'Australia/Melbourne', '617': 'Australia/Brisbane',
	// Mexico (+52)
	'5255': 'America/Mexico_City', '5233': 'America/Mexico_City', '5281': 'America/Monterrey', '52222': 'America/Mexico_City',
	'52664': 'America/Tijuana', '52686': 'America/Tijuana', '52646': 'America/Tijuana', '52662': 'America/Hermosillo',
	'52614': 'America/Chihuahua', '52656': 'America/Ciudad_Juarez', '52667': 'America/Mazatlan', '52669': 'America/Mazatlan',
	'52612': 'America/Mazatlan', '52624': 'America/Mazatlan', '52998': 'America/Cancun', '52984': 'America/Cancun', '52983': 'America/Cancun',
	// Mayotte within +262 (Réunion is the calling code's main region)
	'262269': 'Indian/Mayotte', '262639': 'Indian/Mayotte',
	// China: mainland numbers keep Beijing time; Xinjiang's landlines (099x) also keep local Ürümqi time
	'8699': 'Asia/Urumqi'
};

/** Brazil's DDD codes by zone (+55 DDD). */
const BR: Record<string, string> = {
	'America/Sao_Paulo': '11 12 13 14 15 16 17 18 19 21 22 24 27 28 31 32 33 34 35 37 38 41 42 43 44 45 46 47 48 49 51 53 54 55 61 62 64',
	'America/Araguaina': '63',
	'America/Cuiaba': '65 66',
	'America/Campo_Grande': '67',
	'America/Rio_Branco': '68',
	'America/Porto_Velho': '69',
	'America/Bahia': '71 73 74 75 77',
	'America/Maceio': '79 82',
	'America/Recife': '81 87',
	'America/Fortaleza': '83 84 85 86 88 89 98 99',
	'America/Belem': '91 93 94 96',
	'America/Manaus': '92 97',
	'America/Boa_Vista': '95'
};

/** Prefix (digits after +) → zone. */
export const AREA_ZONES: Record<string, string> = (() => {
	const out: Record<string, string> = { ...BY_PREFIX };
	for (const [zone, codes] of Object.entries(BY_ZONE)) for (const c of codes.split(' ')) out['1' + c] = zone;
	for (const [zone, codes] of Object.entries(BR)) for (const c of codes.split(' ')) out['55' + c] = zone;
	return out;
})();
