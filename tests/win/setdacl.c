/*
 * setdacl.c - set a folder's DACL from an SDDL string, for the Wine test
 * of wsus-fixer's content-acl check (tests/win/test_fixer_wine.py):
 *
 *   wsus-setdacl.exe PATH SDDL      e.g. "D:P(A;OICI;0x1200a9;;;NS)"
 *   wsus-setdacl.exe PATH           only print the DACL
 *
 * The DACL is set protected (no inherited ACEs), then read back with
 * GetNamedSecurityInfo and printed as SDDL on standard output, so the
 * test sees what the system actually stored. Exit 0, or 1 with the
 * failing call and its error number on standard error.
 */
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include <stdio.h>

int
main(int argc, char **argv)
{
    PSECURITY_DESCRIPTOR sd = NULL, back = NULL;
    PACL dacl = NULL, got = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    LPSTR text = NULL;
    DWORD r;
    int rc = 1;

    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: wsus-setdacl PATH [SDDL]\n");
        return 2;
    }
    if (argc == 2)
        goto readback;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(
            argv[2], SDDL_REVISION_1, &sd, NULL)) {
        fprintf(stderr, "ConvertStringSecurityDescriptor: %lu\n",
                (unsigned long)GetLastError());
        return 1;
    }
    if (!GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted)) {
        fprintf(stderr, "GetSecurityDescriptorDacl: %lu\n",
                (unsigned long)GetLastError());
        goto out;
    }
    r = SetNamedSecurityInfoA(argv[1], SE_FILE_OBJECT,
                              DACL_SECURITY_INFORMATION |
                                  PROTECTED_DACL_SECURITY_INFORMATION,
                              NULL, NULL, present ? dacl : NULL, NULL);
    if (r != ERROR_SUCCESS) {
        fprintf(stderr, "SetNamedSecurityInfo: %lu\n", (unsigned long)r);
        goto out;
    }
readback:
    r = GetNamedSecurityInfoA(argv[1], SE_FILE_OBJECT,
                              DACL_SECURITY_INFORMATION, NULL, NULL, &got, NULL,
                              &back);
    if (r != ERROR_SUCCESS) {
        fprintf(stderr, "GetNamedSecurityInfo: %lu\n", (unsigned long)r);
        goto out;
    }
    if (!ConvertSecurityDescriptorToStringSecurityDescriptorA(
            back, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &text, NULL)) {
        fprintf(stderr, "ConvertSecurityDescriptorToString: %lu\n",
                (unsigned long)GetLastError());
        goto out;
    }
    printf("%s\n", text);
    rc = 0;
out:
    if (text != NULL)
        LocalFree(text);
    if (back != NULL)
        LocalFree(back);
    if (sd != NULL)
        LocalFree(sd);
    return rc;
}
