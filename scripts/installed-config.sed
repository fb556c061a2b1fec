# The installed /etc/nfr/config.yml: the sample, with scope.file pointing at
# the scope.yml installed beside it, so that editing /etc/nfr/scope.yml
# changes what nfr-scope keeps (relative names are relative to config.yml).
/^scope:/,/^[a-z]/ s|^  file: ""$|  file: scope.yml|
